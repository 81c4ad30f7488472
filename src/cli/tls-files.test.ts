import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { selfSignedCertificate } from '../crypto/index.js';
import { readTlsFiles } from './tls-files.js';

/** A directory holding `files` (name → content), removed after the test. */
function withFiles(t: TestContext, files: Record<string, string>): (name: string) => string {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-tls-files-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return (name) => join(dir, name);
}

test('a matching certificate and key are read as PEM; neither flag means plain HTTP', (t) => {
  const { certPem, keyPem } = selfSignedCertificate();
  const path = withFiles(t, { 'cert.pem': certPem, 'key.pem': keyPem });
  assert.deepEqual(readTlsFiles({ tlsCert: path('cert.pem'), tlsKey: path('key.pem') }), {
    cert: certPem,
    key: keyPem,
  });
  assert.equal(readTlsFiles({}), undefined);
});

test('each way the files can be wrong is one line naming the flag and the file', (t) => {
  const mine = selfSignedCertificate();
  const other = selfSignedCertificate();
  const encrypted = createPrivateKey(mine.keyPem)
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
    .toString();
  const path = withFiles(t, {
    'cert.pem': mine.certPem,
    'key.pem': mine.keyPem,
    'other-key.pem': other.keyPem,
    'garbage.pem': 'not pem\n',
    'encrypted.pem': encrypted,
  });
  const cases: Array<[Parameters<typeof readTlsFiles>[0], RegExp]> = [
    [{ tlsCert: path('cert.pem') }, /^--tls-cert and --tls-key go together/],
    [{ tlsKey: path('key.pem') }, /^--tls-cert and --tls-key go together/],
    [
      { tlsCert: path('missing.pem'), tlsKey: path('key.pem') },
      /^--tls-cert: cannot read .*missing\.pem \(ENOENT\)$/,
    ],
    [
      { tlsCert: path('cert.pem'), tlsKey: path('missing.pem') },
      /^--tls-key: cannot read .*missing\.pem \(ENOENT\)$/,
    ],
    [{ tlsCert: path(''), tlsKey: path('key.pem') }, /^--tls-cert: cannot read .* \(EISDIR\)$/],
    [
      { tlsCert: path('garbage.pem'), tlsKey: path('key.pem') },
      /^--tls-cert: .*garbage\.pem holds no PEM certificate$/,
    ],
    [
      { tlsCert: path('key.pem'), tlsKey: path('key.pem') },
      /^--tls-cert: .*key\.pem holds no PEM certificate$/,
    ],
    [
      { tlsCert: path('cert.pem'), tlsKey: path('garbage.pem') },
      /^--tls-key: .*garbage\.pem holds no unencrypted PEM private key$/,
    ],
    [
      { tlsCert: path('cert.pem'), tlsKey: path('encrypted.pem') },
      /^--tls-key: .*encrypted\.pem holds no unencrypted PEM private key$/,
    ],
    [
      { tlsCert: path('cert.pem'), tlsKey: path('other-key.pem') },
      /^--tls-key: .*other-key\.pem is not the private key of the certificate in --tls-cert .*cert\.pem$/,
    ],
  ];
  for (const [flags, message] of cases)
    assert.throws(
      () => readTlsFiles(flags),
      (error: Error) => error.constructor === Error && message.test(error.message),
      JSON.stringify(flags),
    );
});

test('a certificate outside its validity is refused with its dates', (t) => {
  const { certPem, keyPem } = selfSignedCertificate({
    now: new Date('2030-01-01T00:00:00Z'),
    validityDays: 30,
  });
  const path = withFiles(t, { 'cert.pem': certPem, 'key.pem': keyPem });
  const flags = { tlsCert: path('cert.pem'), tlsKey: path('key.pem') };
  assert.throws(
    () => readTlsFiles(flags, new Date('2029-12-31T00:00:00Z')),
    /^Error: --tls-cert: the certificate in .* is not valid before Dec 31 23:55:00 2029 GMT$/,
  );
  assert.throws(
    () => readTlsFiles(flags, new Date('2030-03-01T00:00:00Z')),
    /^Error: --tls-cert: the certificate in .* expired on Jan 30 23:55:00 2030 GMT$/,
  );
  assert.ok(readTlsFiles(flags, new Date('2030-01-15T00:00:00Z')));
});
