/**
 * Issue 11, item 8 (lock part): a renewal must never overwrite a lock another execution has
 * just taken over. Today's renewal reads the lock, checks the token, then overwrites it: a
 * takeover landing between that read and that write is silently undone, and two executions
 * both believe they hold the environment.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDestination, type Destination } from '../../../core/destinations';
import { EnvironmentLock, LOCK_FILE, currentOwner, lockPath } from '../../../core/locking/environment-lock';

let root: string;
beforeEach(() => {
	root = mkdtempSync(join(tmpdir(), 'totvs-renew-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-26T02:00:00Z');
const STALE = 60_000;
const fileToken = () => (JSON.parse(readFileSync(join(root, 'prod', LOCK_FILE), 'utf8')) as { token: string }).token;

/** The destination, running `hook` once right after the next read of the lock file returns. */
function afterNextLockRead(target: Destination, hook: () => Promise<unknown>): Destination {
	let armed = true;
	return new Proxy(target, {
		get(object, property, receiver) {
			const value = Reflect.get(object, property, receiver);
			if (property !== 'readSmallFile' || typeof value !== 'function') return value;
			return async (path: string, ...rest: unknown[]) => {
				const content = await value.apply(object, [path, ...rest]);
				if (armed && path === lockPath('prod')) {
					armed = false;
					await hook();
				}
				return content;
			};
		},
	});
}

it('a takeover that lands between the renewal’s read and its write is never overwritten: one holder, and the file is its', async () => {
	// A's process stalled 40 s since its last renewal (within its own limit of 75 % of the stale
	// period); B, on a host whose clock reads 61 s, sees the lock as stale.
	const clockA = { now: T0 };
	const a = await EnvironmentLock.acquire(openDestination({ type: 'local', folder: root }), 'prod', currentOwner('A'), {
		purpose: 'upload',
		staleAfterMs: STALE,
		renewEveryMs: 3_600_000, // renewals only when the test calls renew()
		now: () => new Date(clockA.now),
	});
	clockA.now = T0 + 40_000;

	let b: PromiseSettledResult<EnvironmentLock> | undefined;
	const takeover = async () => {
		b = await EnvironmentLock.acquire(openDestination({ type: 'local', folder: root }), 'prod', currentOwner('B'), {
			purpose: 'prune',
			staleAfterMs: STALE,
			renewEveryMs: 3_600_000,
			now: () => new Date(T0 + 61_000),
		}).then(
			(value) => ({ status: 'fulfilled' as const, value }),
			(reason: unknown) => ({ status: 'rejected' as const, reason }),
		);
	};
	// Reach into A's connection: the hook fires inside A's renewal.
	(a as unknown as { destination: Destination }).destination = afterNextLockRead(
		(a as unknown as { destination: Destination }).destination,
		takeover,
	);

	const renewal = await a.renew().then(
		() => 'renewed' as const,
		(error: { code?: string }) => error.code,
	);
	expect(b).toBeDefined(); // the takeover really ran inside the renewal

	const believers = [...(renewal === 'renewed' ? [a] : []), ...(b?.status === 'fulfilled' ? [b.value] : [])].map(
		(lock) => lock.holder.owner.executionId,
	);
	expect(believers).toHaveLength(1);
	const holder = believers[0] === 'A' ? a : (b as PromiseFulfilledResult<EnvironmentLock>).value;
	expect(fileToken()).toBe(holder.holder.token);
	if (believers[0] === 'B') expect(renewal).toBe('LOCK_LOST');
	else expect(b).toMatchObject({ status: 'rejected', reason: { code: 'LOCKED' } });

	await a.release();
	if (b?.status === 'fulfilled') await b.value.release();
});

it('a renewal after a completed takeover reports LOCK_LOST, writes nothing, and release leaves the new lock', async () => {
	const clock = { now: T0 };
	const options = { purpose: 'upload', staleAfterMs: STALE, renewEveryMs: 3_600_000, now: () => new Date(clock.now) };
	const a = await EnvironmentLock.acquire(
		openDestination({ type: 'local', folder: root }),
		'prod',
		currentOwner('A'),
		options,
	);
	const b = await EnvironmentLock.acquire(openDestination({ type: 'local', folder: root }), 'prod', currentOwner('B'), {
		...options,
		now: () => new Date(T0 + 61_000),
	});
	clock.now = T0 + 30_000;
	await expect(a.renew()).rejects.toMatchObject({ code: 'LOCK_LOST', message: expect.stringContaining('execution B') });
	await a.release();
	expect(fileToken()).toBe(b.holder.token);
	await b.release();
});
