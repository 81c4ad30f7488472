import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEMO_PASSWORD } from './demo-users.js';
import { TokenBucketLimiter } from './rate-limit.js';
import { ReplayCache } from './replay-cache.js';
import { authFixture, postForm, TestClock } from '../testonly/auth-fixture.js';

test('a bucket allows its capacity at once, then refills evenly over the interval', () => {
  const clock = new TestClock();
  const limiter = new TokenBucketLimiter({ capacity: 4, intervalMs: 8000, clock: clock.read });
  for (let i = 0; i < 4; i++)
    assert.deepEqual(limiter.take('a'), { allowed: true }, `request ${i}`);
  assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 2 });
  assert.deepEqual(limiter.take('b'), { allowed: true }, 'keys have separate buckets');
  clock.advance(1999);
  assert.equal(limiter.take('a').allowed, false);
  clock.advance(1);
  assert.equal(limiter.take('a').allowed, true, 'one token back after a quarter of the interval');
  assert.equal(limiter.take('a').allowed, false);
  clock.advance(60_000);
  for (let i = 0; i < 4; i++) assert.equal(limiter.take('a').allowed, true);
  assert.equal(limiter.take('a').allowed, false, 'a long wait refills to capacity, no more');
  assert.throws(() => new TokenBucketLimiter({ capacity: 0 }), RangeError);
});

test('the limiter holds at most maxKeys buckets, forgetting full ones first', () => {
  const clock = new TestClock();
  const limiter = new TokenBucketLimiter({
    capacity: 1,
    intervalMs: 1000,
    maxKeys: 3,
    clock: clock.read,
  });
  for (const key of ['a', 'b', 'c']) limiter.take(key);
  clock.advance(1000);
  limiter.take('c');
  limiter.take('d');
  assert.equal(limiter.take('c').allowed, false, 'the spent bucket survived eviction');
  assert.equal(limiter.take('d').allowed, false);
});

test('the token endpoint answers 429 with Retry-After once an address spends 20 requests in 10 s', async (t) => {
  const fixture = await authFixture(t, { rateLimit: {} });
  const ask = (address = '203.0.113.7') =>
    postForm(fixture.app, '/auth/token', { grant_type: 'client_credentials' }, address);
  for (let i = 0; i < 20; i++)
    assert.equal((await ask()).statusCode, 401, `request ${i} reaches the endpoint`);
  const limited = await ask();
  assert.equal(limited.statusCode, 429, limited.body);
  assert.equal(limited.headers['retry-after'], '1');
  assert.equal((limited.json() as { error: string }).error, 'temporarily_unavailable');
  assert.equal((await ask('198.51.100.2')).statusCode, 401, 'another address has its own budget');
  fixture.clock.advance(250);
  assert.equal((await ask()).statusCode, 429);
  fixture.clock.advance(250);
  assert.equal((await ask()).statusCode, 401, 'one request per half second comes back');
  assert.equal((await ask()).statusCode, 429);
});

test('login attempts at POST /auth/authorize are limited too', async (t) => {
  const fixture = await authFixture(t, { rateLimit: { capacity: 2, intervalMs: 10_000 } });
  const attempt = () =>
    postForm(
      fixture.app,
      '/auth/authorize',
      { client_id: 'patient-app', username: 'patient-0001', password: DEMO_PASSWORD },
      '192.0.2.9',
    );
  assert.equal((await attempt()).statusCode, 400);
  assert.equal((await attempt()).statusCode, 400);
  const limited = await attempt();
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.headers['retry-after'], '5');
  assert.match(limited.body, /too many requests/);
});

test('the replay cache refuses a key until it expires, and refuses new keys when full of live ones', () => {
  const clock = new TestClock();
  const cache = new ReplayCache({ capacity: 2, clock: clock.read });
  assert.equal(cache.remember('a', clock.now + 1000), 'fresh');
  assert.equal(cache.remember('a', clock.now + 1000), 'replayed');
  assert.equal(cache.remember('b', clock.now + 5000), 'fresh');
  assert.equal(cache.remember('c', clock.now + 5000), 'full');
  clock.advance(1000);
  assert.equal(cache.remember('c', clock.now + 5000), 'fresh', 'the expired key made room');
  assert.equal(cache.size, 2);
  assert.equal(
    cache.remember('a', clock.now + 5000),
    'full',
    'a is forgotten, and there is no room to remember it again',
  );
});
