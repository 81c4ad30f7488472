/**
 * The certificate and key `start --tls-cert FILE --tls-key FILE` serves HTTPS with. Every way
 * they can be wrong is found here, before the node opens, and named by its flag: a node that
 * cannot serve TLS should say why in one line, not in a stack trace from deep inside Node's TLS.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TlsCredentials } from '../api/index.js';

/** How `start` names the files. */
export interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
}

/**
 * The PEM certificate (chain, leaf first) and private key the flags name, or undefined when
 * neither is given. Throws Error naming the flag when only one is given, a file cannot be read,
 * holds no PEM certificate or key (an encrypted key included), the certificate has expired or
 * is not yet valid at `now`, or the key is not the certificate's.
 */
export function readTlsFiles(flags: TlsFlags, now = new Date()): TlsCredentials | undefined {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) return undefined;
  if (flags.tlsCert === undefined || flags.tlsKey === undefined)
    throw new Error('--tls-cert and --tls-key go together: give both, or neither for plain HTTP');
  const cert = readPem('--tls-cert', flags.tlsCert);
  const key = readPem('--tls-key', flags.tlsKey);
  const certificate = parseCertificate(flags.tlsCert, cert);
  checkValidity(flags.tlsCert, certificate, now);
  if (!certificate.checkPrivateKey(parsePrivateKey(flags.tlsKey, key)))
    throw new Error(
      `--tls-key: ${flags.tlsKey} is not the private key of the certificate in --tls-cert ${flags.tlsCert}`,
    );
  return { cert, key };
}

function readPem(flag: string, path: string): string {
  try {
    return readFileSync(resolve(path), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`${flag}: cannot read ${path} (${code})`);
  }
}

function parseCertificate(path: string, pem: string): X509Certificate {
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM block');
    return new X509Certificate(pem);
  } catch {
    throw new Error(`--tls-cert: ${path} holds no PEM certificate`);
  }
}

function checkValidity(path: string, certificate: X509Certificate, now: Date): void {
  if (now.getTime() < new Date(certificate.validFrom).getTime())
    throw new Error(
      `--tls-cert: the certificate in ${path} is not valid before ${certificate.validFrom}`,
    );
  if (now.getTime() > new Date(certificate.validTo).getTime())
    throw new Error(`--tls-cert: the certificate in ${path} expired on ${certificate.validTo}`);
}

function parsePrivateKey(path: string, pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new Error(`--tls-key: ${path} holds no unencrypted PEM private key`);
  }
}
