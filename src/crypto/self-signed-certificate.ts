/**
 * A self-signed X.509 v3 certificate (RFC 5280) for serving HTTPS on one machine or a test
 * network: an ECDSA P-256 key, signed with ecdsa-with-SHA256 (RFC 5758 §3.2), naming its hosts in
 * subjectAltName (RFC 5280 §4.2.1.6). Node can parse and verify certificates but not make them,
 * so this builds the DER itself. It is an end-entity certificate (cA false, RFC 5280 §4.2.1.9)
 * that clients trust by pinning it as their CA; it is not a certificate authority.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { concatBytes } from './bytes.js';
import { generatePemKeyPair } from './key-generation.js';
import {
  derBitString,
  derBoolean,
  derExplicit,
  derImplicit,
  derOctetString,
  derOid,
  derSequence,
  derSetOfOne,
  derSmallInteger,
  derTime,
  derUnsignedInteger,
  derUtf8String,
} from './der.js';

/** The names every self-signed certificate carries, so that local clients reach the node by any of them. */
export const SELF_SIGNED_DEFAULT_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];
/** How long a self-signed certificate is valid: about a year. */
export const SELF_SIGNED_VALIDITY_DAYS = 365;
/** notBefore is set this far in the past, so a client whose clock is slightly behind accepts it. */
const CLOCK_SKEW_MS = 5 * 60_000;
const SERIAL_BYTES = 16;
const DAY_MS = 86_400_000;

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** A certificate and its private key, both PEM. */
export interface SelfSignedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * A new key and a certificate for it valid from `now` (less five minutes of clock skew) for
 * `validityDays`, naming localhost, 127.0.0.1, ::1 and each of `hosts` (DNS names or IP
 * addresses). Throws RangeError naming `hosts` for a name that is neither, or `validityDays`
 * when it is not a whole number of days from 1 to 3650.
 */
export function selfSignedCertificate(
  options: { hosts?: readonly string[]; now?: Date; validityDays?: number } = {},
): SelfSignedCertificate {
  const validityDays = options.validityDays ?? SELF_SIGNED_VALIDITY_DAYS;
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > 3650)
    throw new RangeError('validityDays must be a whole number from 1 to 3650');
  const hosts = [...new Set([...SELF_SIGNED_DEFAULT_HOSTS, ...(options.hosts ?? [])])];
  const notBefore = new Date((options.now ?? new Date()).getTime() - CLOCK_SKEW_MS);
  const notAfter = new Date(notBefore.getTime() + validityDays * DAY_MS);
  const { privateKeyPem, publicKeyPem } = generatePemKeyPair('P-256');
  const tbs = tbsCertificate(createPublicKey(publicKeyPem), hosts, notBefore, notAfter);
  const signature = sign('sha256', tbs, createPrivateKey(privateKeyPem));
  const certificate = derSequence(tbs, signatureAlgorithm(), derBitString(signature));
  return { certPem: pem('CERTIFICATE', certificate), keyPem: privateKeyPem };
}

/** TBSCertificate (RFC 5280 §4.1.2): v3, a random positive serial, issuer = subject. */
function tbsCertificate(
  publicKey: KeyObject,
  hosts: readonly string[],
  notBefore: Date,
  notAfter: Date,
): Uint8Array {
  const name = distinguishedName(hosts[0]!);
  return derSequence(
    derExplicit(0, derSmallInteger(2)),
    derUnsignedInteger(serialNumber()),
    signatureAlgorithm(),
    name,
    derSequence(derTime(notBefore), derTime(notAfter)),
    name,
    new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
    derExplicit(3, derSequence(basicConstraints(), extendedKeyUsage(), subjectAltName(hosts))),
  );
}

/** At most 20 octets and positive (RFC 5280 §4.1.2.2): 16 random bytes with the top bit cleared. */
function serialNumber(): Uint8Array {
  const serial = new Uint8Array(randomBytes(SERIAL_BYTES));
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial;
}

function signatureAlgorithm(): Uint8Array {
  return derSequence(derOid(OID.ecdsaWithSha256));
}

function distinguishedName(commonName: string): Uint8Array {
  return derSequence(
    derSetOfOne(
      derSequence(derOid(OID.commonName), derUtf8String(`ChartChain self-signed ${commonName}`)),
    ),
  );
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? derSequence(derOid(oid), derBoolean(true), derOctetString(value))
    : derSequence(derOid(oid), derOctetString(value));
}

/** cA false, marked critical; an empty SEQUENCE is the DER of cA's default, false. */
function basicConstraints(): Uint8Array {
  return extension(OID.basicConstraints, true, derSequence());
}

function extendedKeyUsage(): Uint8Array {
  return extension(OID.extKeyUsage, false, derSequence(derOid(OID.serverAuth)));
}

/** dNSName [2] IA5String for names, iPAddress [7] OCTET STRING (4 or 16 bytes) for addresses. */
function subjectAltName(hosts: readonly string[]): Uint8Array {
  const names = hosts.map((host) =>
    isIP(host) === 0 ? derImplicit(2, dnsName(host)) : derImplicit(7, ipAddressBytes(host)),
  );
  return extension(OID.subjectAltName, false, derSequence(...names));
}

/** A DNS name as its IA5String bytes: letters, digits, hyphens, dots, a leading `*.` for a wildcard. */
function dnsName(host: string): Uint8Array {
  const label = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
  if (host.length > 253 || !new RegExp(`^(?:\\*\\.)?${label}(?:\\.${label})*$`).test(host))
    throw new RangeError(`hosts: ${JSON.stringify(host)} is not a DNS name or IP address`);
  return new Uint8Array(Buffer.from(host, 'ascii'));
}

/** The network-order bytes of an IPv4 or IPv6 address (already checked by isIP). */
export function ipAddressBytes(address: string): Uint8Array {
  if (isIP(address) === 4) return new Uint8Array(address.split('.').map(Number));
  if (isIP(address) !== 6)
    throw new RangeError(`address ${JSON.stringify(address)} is not an IP address`);
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groupsOf = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').flatMap(ipv6Group);
  const left = groupsOf(head);
  const right = groupsOf(tail);
  const groups =
    tail === undefined
      ? left
      : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return concatBytes(...groups.map((group) => new Uint8Array([group >> 8, group & 0xff])));
}

/** One 16-bit group, or two for a trailing dotted IPv4 part (`::ffff:10.0.0.1`). */
function ipv6Group(text: string): number[] {
  if (!text.includes('.')) return [parseInt(text, 16)];
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return [(a << 8) | b, (c << 8) | d];
}

function pem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${base64}\n-----END ${label}-----\n`;
}
