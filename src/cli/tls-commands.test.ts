import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildProgram } from './index.js';
import { readTlsFiles } from './tls-files.js';

const mode = (path: string): number => statSync(path).mode & 0o777;

test('tls self-signed writes an owner-only key and a certificate naming the local addresses and each --host, which start accepts', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'chartchain-tls-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const out = join(root, 'tls');
  const written: string[] = [];
  t.mock.method(process.stdout, 'write', (text: string) => written.push(text));
  await buildProgram().parseAsync([
    'node',
    'chartchain',
    'tls',
    'self-signed',
    '--out',
    out,
    '--host',
    'node.example.org',
    '--host',
    '192.0.2.7',
  ]);
  t.mock.restoreAll();
  assert.equal(mode(out), 0o700);
  assert.equal(mode(join(out, 'key.pem')), 0o600);
  const certificate = new X509Certificate(readFileSync(join(out, 'cert.pem')));
  assert.equal(
    certificate.subjectAltName,
    'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:node.example.org, IP Address:192.0.2.7',
  );
  assert.equal(
    certificate.checkPrivateKey(createPrivateKey(readFileSync(join(out, 'key.pem')))),
    true,
  );
  assert.match(written.join(''), /--tls-cert .*cert\.pem --tls-key .*key\.pem/);
  assert.ok(readTlsFiles({ tlsCert: join(out, 'cert.pem'), tlsKey: join(out, 'key.pem') }));
});

test('tls self-signed never overwrites a key, and refuses a host that is no DNS name or address', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'chartchain-tls-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  t.mock.method(process.stdout, 'write', () => true);
  await buildProgram().parseAsync(['node', 'chartchain', 'tls', 'self-signed', '--out', out]);
  const key = readFileSync(join(out, 'key.pem'), 'utf8');
  await assert.rejects(
    buildProgram().parseAsync(['node', 'chartchain', 'tls', 'self-signed', '--out', out]),
    /(cert|key)\.pem exists; refusing to overwrite/,
  );
  assert.equal(readFileSync(join(out, 'key.pem'), 'utf8'), key);
  const fresh = join(out, 'fresh');
  await assert.rejects(
    buildProgram().parseAsync([
      'node',
      'chartchain',
      'tls',
      'self-signed',
      '--out',
      fresh,
      '--host',
      'not a host',
    ]),
    /hosts: "not a host" is not a DNS name or IP address/,
  );
  assert.throws(() => statSync(fresh), /ENOENT/, 'nothing is written for a bad host');
});
