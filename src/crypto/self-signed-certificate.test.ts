import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { toHex } from './bytes.js';
import {
  ipAddressBytes,
  selfSignedCertificate,
  SELF_SIGNED_VALIDITY_DAYS,
} from './self-signed-certificate.js';

const DAY_MS = 86_400_000;

test('the certificate parses, verifies under its own key, matches its private key and is no CA', () => {
  const { certPem, keyPem } = selfSignedCertificate();
  const certificate = new X509Certificate(certPem);
  assert.equal(certificate.verify(certificate.publicKey), true);
  assert.equal(certificate.checkPrivateKey(createPrivateKey(keyPem)), true);
  assert.equal(certificate.ca, false);
  assert.equal(certificate.issuer, certificate.subject);
  assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.deepEqual(certificate.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(
    certificate.checkPrivateKey(createPrivateKey(selfSignedCertificate().keyPem)),
    false,
    'another key does not match',
  );
});

test('it names localhost, 127.0.0.1 and ::1 and every given host, and no other', () => {
  const certificate = new X509Certificate(
    selfSignedCertificate({ hosts: ['node.example.org', '10.1.2.3', 'fd00::7'] }).certPem,
  );
  assert.equal(
    certificate.subjectAltName,
    'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:node.example.org, IP Address:10.1.2.3, IP Address:FD00:0:0:0:0:0:0:7',
  );
  for (const host of ['localhost', 'node.example.org'])
    assert.equal(certificate.checkHost(host), host);
  for (const ip of ['127.0.0.1', '::1', '10.1.2.3', 'fd00::7'])
    assert.equal(certificate.checkIP(ip), ip);
  assert.equal(certificate.checkHost('other.example.org'), undefined);
  assert.equal(certificate.checkIP('10.1.2.4'), undefined);
});

test('it is valid from five minutes before now for a year, or for validityDays', () => {
  const now = new Date('2030-06-01T12:00:00Z');
  const year = new X509Certificate(selfSignedCertificate({ now }).certPem);
  assert.equal(new Date(year.validFrom).getTime(), now.getTime() - 5 * 60_000);
  assert.equal(
    new Date(year.validTo).getTime() - new Date(year.validFrom).getTime(),
    SELF_SIGNED_VALIDITY_DAYS * DAY_MS,
  );
  const week = new X509Certificate(
    selfSignedCertificate({ now: new Date('2049-12-30T00:00:00Z'), validityDays: 7 }).certPem,
  );
  assert.equal(
    new Date(week.validTo).toISOString(),
    '2050-01-05T23:55:00.000Z',
    'a time past 2049 is a GeneralizedTime',
  );
});

test('two certificates have different keys and serial numbers, each positive', () => {
  const [a, b] = [selfSignedCertificate(), selfSignedCertificate()].map(
    ({ certPem }) => new X509Certificate(certPem),
  );
  assert.notEqual(a!.serialNumber, b!.serialNumber);
  assert.notEqual(a!.fingerprint256, b!.fingerprint256);
  for (const serial of [a!.serialNumber, b!.serialNumber])
    assert.ok(parseInt(serial[0]!, 16) < 8, serial);
});

test('bad hosts and validity are refused, naming the option', () => {
  for (const host of [
    '',
    'exa mple',
    'a..b',
    '-x.example',
    'bad_name',
    `${'a'.repeat(64)}.example`,
    'http://x',
  ]) {
    assert.throws(() => selfSignedCertificate({ hosts: [host] }), /^RangeError: hosts: /, host);
  }
  for (const validityDays of [0, 1.5, 3651])
    assert.throws(() => selfSignedCertificate({ validityDays }), /validityDays/);
});

test('IP addresses encode in network order, IPv6 with :: expanded', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', '7f000001'],
    ['::1', '00000000000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['fe80::1:2', 'fe800000000000000000000000010002'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
  ];
  for (const [address, expected] of cases)
    assert.equal(toHex(ipAddressBytes(address)), expected, address);
  assert.throws(() => ipAddressBytes('localhost'), RangeError);
});
