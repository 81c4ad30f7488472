import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WatchManager } from 'etcd3/lib/watch.js';
import { connectEtcd } from './etcd-client.js';

test('a watch response for a watcher the client no longer holds is dropped, not thrown out of the stream (which would end the process)', async () => {
  const client = connectEtcd(['http://127.0.0.1:1']);
  try {
    const dispatched: string[] = [];
    const manager = Object.assign(Object.create(WatchManager.prototype) as object, {
      watchers: [{ id: '1' }],
      initialBackoff: { next: () => ({}) },
      handleUpdateResponse: (watcher: { id: string }) => dispatched.push(watcher.id),
    }) as unknown as { handleResponse(res: { watch_id: string; canceled: boolean }): void };
    assert.doesNotThrow(() => manager.handleResponse({ watch_id: '7', canceled: false }));
    manager.handleResponse({ watch_id: '1', canceled: false });
    assert.deepEqual(dispatched, ['1'], 'a response for a watcher it holds is still dispatched');
  } finally {
    client.close();
  }
});
