/**
 * `chartchain tls self-signed`: a certificate and key for serving HTTPS on this machine or a test
 * network, trusted by pinning the certificate (e.g. NODE_EXTRA_CA_CERTS=cert.pem). Real patients'
 * nodes use a certificate from a CA their clients already trust.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { selfSignedCertificate, SELF_SIGNED_DEFAULT_HOSTS } from '../crypto/index.js';

/** The file names in the output directory. */
export const TLS_CERT_FILE = 'cert.pem';
export const TLS_KEY_FILE = 'key.pem';

/**
 * Writes a new key (mode 0600) and a self-signed certificate for it into `outDir` (created with
 * mode 0700 if absent), naming localhost, 127.0.0.1, ::1 and `hosts`; resolves with a summary.
 * Throws Error when either file exists (a key is never overwritten), RangeError for a bad host.
 */
export function writeSelfSigned(outDir: string, hosts: readonly string[]): string {
  const dir = resolve(outDir);
  const [certPath, keyPath] = [join(dir, TLS_CERT_FILE), join(dir, TLS_KEY_FILE)];
  for (const path of [certPath, keyPath])
    if (existsSync(path))
      throw new Error(`${path} exists; refusing to overwrite a key or its certificate`);
  const { certPem, keyPem } = selfSignedCertificate({ hosts });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyPath, keyPem, { mode: 0o600, flag: 'wx' });
  writeFileSync(certPath, certPem, { mode: 0o644, flag: 'wx' });
  const certificate = new X509Certificate(certPem);
  return [
    `wrote ${keyPath} (0600) and ${certPath}: self-signed for ${[...SELF_SIGNED_DEFAULT_HOSTS, ...hosts].join(', ')}, valid until ${certificate.validTo}`,
    `SHA-256 fingerprint ${certificate.fingerprint256}`,
    `serve it: chartchain start --tls-cert ${certPath} --tls-key ${keyPath}; clients trust it with NODE_EXTRA_CA_CERTS=${certPath} (for local use only)`,
  ].join('\n');
}

/** Registers `tls self-signed` on `program`. */
export function registerTlsCommands(program: Command): void {
  const tls = program.command('tls').description('certificates for serving HTTPS');
  tls
    .command('self-signed')
    .description(
      'write a new key and a self-signed certificate (cert.pem, key.pem) for localhost, 127.0.0.1, ::1 and each --host; for local use',
    )
    .requiredOption('--out <dir>', 'directory to write cert.pem and key.pem to (created 0700)')
    .option(
      '--host <name>',
      'another DNS name or IP address the certificate names (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action((flags: { out: string; host: string[] }) => {
      process.stdout.write(writeSelfSigned(flags.out, flags.host) + '\n');
    });
}
