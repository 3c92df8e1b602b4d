import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GirderError } from '../errors.ts';
import { SlotQueue, type SlotHolder } from './slots.ts';

/** A stand-in replica that counts its slots as Replica does. */
const replica = (id: string, capacity = 1, routable = true) => ({
  id,
  inflight: 0,
  capacity,
  routable,
  releases: 0,
  acquired() {
    this.inflight++;
  },
  released() {
    this.inflight--;
    this.releases++;
  },
});
const never = new AbortController().signal;

test('a free slot is taken at once on the least-loaded replica', () => {
  const q = new SlotQueue();
  q.replicas.push(replica('a', 2), replica('b', 2));
  assert.equal(q.tryAcquire()!.id, 'a');
  assert.equal(q.tryAcquire()!.id, 'b');
  assert.equal(q.tryAcquire()!.id, 'a');
  assert.equal(q.tryAcquire()!.id, 'b');
  assert.equal(q.tryAcquire(), undefined);
});

test('replicas that are not routable get no traffic', () => {
  const q = new SlotQueue();
  q.replicas.push(replica('a', 1, false));
  assert.equal(q.tryAcquire(), undefined);
});

test('parked requests get freed slots in arrival order', async () => {
  const q = new SlotQueue();
  const a = replica('a');
  q.replicas.push(a);
  q.tryAcquire();
  const order: number[] = [];
  const first = (q.acquire('sync', never) as Promise<SlotHolder>).then(() => order.push(1));
  const second = (q.acquire('sync', never) as Promise<SlotHolder>).then(() => order.push(2));
  q.release(a);
  await first;
  q.release(a);
  await second;
  assert.deepEqual(order, [1, 2]);
});

test('parked sync requests go before parked async ones, whatever their arrival', async () => {
  const q = new SlotQueue();
  const a = replica('a');
  q.replicas.push(a);
  q.tryAcquire();
  const order: string[] = [];
  const asyncReq = (q.acquire('async', never) as Promise<SlotHolder>).then(() => order.push('async'));
  const syncReq = (q.acquire('sync', never) as Promise<SlotHolder>).then(() => order.push('sync'));
  q.release(a);
  await syncReq;
  assert.deepEqual(order, ['sync']);
  q.release(a);
  await asyncReq;
  assert.deepEqual(order, ['sync', 'async']);
});

test('an async request never takes a slot while a sync request is parked', () => {
  const q = new SlotQueue();
  const a = replica('a', 1, false);
  q.replicas.push(a);
  void q.acquire('sync', never);
  assert.equal(q.tryAcquire('async'), undefined);
  assert.equal(q.tryAcquire('sync'), undefined);
});

test('a parked request that aborts leaves the queue with the abort reason', async () => {
  const q = new SlotQueue();
  q.replicas.push(replica('a', 0));
  const ctrl = new AbortController();
  const parked = q.acquire('sync', ctrl.signal);
  ctrl.abort(new Error('gone'));
  await assert.rejects(parked as Promise<SlotHolder>, /gone/);
  assert.deepEqual(q.parked, { sync: 0, async: 0 });
});

test('a replica that becomes routable serves parked requests on drain', async () => {
  const q = new SlotQueue<ReturnType<typeof replica>>();
  const a = replica('a', 1, false);
  q.replicas.push(a);
  const parked = q.acquire('sync', never);
  a.routable = true;
  q.drain();
  assert.equal((await parked).id, 'a');
  assert.equal(a.inflight, 1);
});

test('rejectAll fails every parked request with the given error', async () => {
  const q = new SlotQueue();
  q.replicas.push(replica('a', 0));
  const parked = q.acquire('async', never);
  q.rejectAll(new GirderError('model_unavailable', 'stopped'));
  await assert.rejects(parked as Promise<SlotHolder>, (e: GirderError) => e.code === 'model_unavailable');
});

test('a released slot is counted by its replica, so that a draining replica learns it may stop', () => {
  const q = new SlotQueue<ReturnType<typeof replica>>();
  const a = replica('a', 2);
  q.replicas.push(a);
  q.tryAcquire();
  q.tryAcquire();
  q.release(a);
  assert.equal(a.releases, 1);
  assert.equal(a.inflight, 1);
});
