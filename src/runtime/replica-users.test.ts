import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_UID_BASE, ReplicaUsers, UID_RANGE } from './replica-users.ts';

test('as root, each snapshot runs as a user of its own, the same one every time it is asked', () => {
  const users = ReplicaUsers.resolve('auto', DEFAULT_UID_BASE, true);
  const a = users.identityFor('/data/snapshots/aaaaaaaaaaaa')!;
  const b = users.identityFor('/data/snapshots/bbbbbbbbbbbb')!;
  assert.notEqual(a.uid, b.uid);
  assert.equal(a.gid, a.uid);
  assert.deepEqual(users.identityFor('/data/snapshots/aaaaaaaaaaaa'), a);
  for (const id of [a, b]) assert.ok(id.uid >= DEFAULT_UID_BASE && id.uid < DEFAULT_UID_BASE + UID_RANGE);
  // Another Girder (a restart) gives a snapshot the same uid, so its files keep their owner.
  assert.deepEqual(ReplicaUsers.resolve('auto', DEFAULT_UID_BASE, true).identityFor('/x/aaaaaaaaaaaa'), a);
});

test('two snapshots whose names hash alike still get two users', () => {
  const users = ReplicaUsers.resolve('auto', 1_000_000, true);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++)
    seen.add(users.identityFor(`/data/snapshots/${i.toString(16).padStart(12, '0')}`)!.uid);
  assert.equal(seen.size, 2000);
});

test('without root, or with self, replicas run as Girder itself', () => {
  assert.equal(ReplicaUsers.resolve('auto', DEFAULT_UID_BASE, false).identityFor('/s/a'), undefined);
  assert.equal(ReplicaUsers.resolve('self', DEFAULT_UID_BASE, true).identityFor('/s/a'), undefined);
});

test('a named user or uid runs every replica, as root only, and never root itself', () => {
  const nobody = ReplicaUsers.resolve('65534', DEFAULT_UID_BASE, true);
  assert.equal(nobody.kind, 'fixed');
  assert.equal(nobody.identityFor('/s/a')!.uid, 65534);
  assert.deepEqual(nobody.identityFor('/s/a'), nobody.identityFor('/s/b'));
  assert.throws(() => ReplicaUsers.resolve('nobody', DEFAULT_UID_BASE, false), /needs Girder to run as root/);
  assert.throws(() => ReplicaUsers.resolve('root', DEFAULT_UID_BASE, true), /is root/);
  assert.throws(() => ReplicaUsers.resolve('no-such-user-here', DEFAULT_UID_BASE, true), /no user/);
  assert.throws(() => ReplicaUsers.resolve('auto', 2 ** 31 - 10, true), /replica-uid-base/);
});
