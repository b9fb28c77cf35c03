/**
 * Issue 17 finding: a lock whose owner ran on this machine and is provably gone (its pid no
 * longer runs) blocked the next run for the whole stale period (~10 min). It is taken over at
 * once; a live pid, or an owner on another host, still waits for the stale timeout. The waiting
 * run's log names the holder.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDestination, type Destination } from '../../../core/destinations';
import { EnvironmentLock, currentOwner, lockPath, type LockOwner } from '../../../core/locking/environment-lock';

let root: string;
let destination: Destination;
beforeEach(() => {
	root = mkdtempSync(join(tmpdir(), 'totvs-dead-owner-'));
	destination = openDestination({ type: 'local', folder: root });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A lock as an execution writes it, renewed just now (nowhere near stale). */
async function writeLock(owner: LockOwner) {
	const now = new Date().toISOString();
	const record = {
		format: 1,
		environment: 'prod',
		owner,
		token: randomBytes(12).toString('hex'),
		purpose: 'upload',
		acquiredAt: now,
		renewedAt: now,
		staleAfterMs: 600_000,
	};
	expect(await destination.createExclusive(lockPath('prod'), JSON.stringify(record))).toBe(true);
	return record;
}

/** The pid of a process that has run and exited (and been reaped). */
async function deadPid(): Promise<number> {
	const child = spawn(process.execPath, ['-e', '']);
	await new Promise((resolve) => child.on('exit', resolve));
	return child.pid!;
}

const acquire = (waitMs = 0) =>
	EnvironmentLock.acquire(openDestination({ type: 'local', folder: root }), 'prod', currentOwner('next-run'), {
		purpose: 'upload',
		waitMs,
		pollMs: 50,
	});

it('takes over at once a lock whose owner on this host is no longer running', async () => {
	const pid = await deadPid();
	await writeLock({ ...currentOwner('killed-worker'), pid });
	const started = Date.now();
	const lock = await acquire();
	expect(Date.now() - started).toBeLessThan(5_000);
	expect(lock.holder.owner.executionId).toBe('next-run');
	await lock.release();
});

it('does not take over a lock whose owner on this host is still running', async () => {
	const live = spawn('sleep', ['60']);
	try {
		await writeLock({ ...currentOwner('busy-worker'), pid: live.pid! });
		await expect(acquire()).rejects.toMatchObject({
			code: 'LOCKED',
			message: expect.stringContaining(`pid ${live.pid}, execution busy-worker`),
		});
	} finally {
		live.kill();
	}
});

it('does not judge a pid of another host, nor of another pid namespace (a container with the same host name)', async () => {
	const pid = await deadPid();
	await writeLock({ ...currentOwner('elsewhere'), hostname: 'other-host', pid });
	await expect(acquire()).rejects.toMatchObject({ code: 'LOCKED' });
	await destination.remove(lockPath('prod'));
	await writeLock({ ...currentOwner('container'), pid, pidNamespace: 'pid:[1]' } as LockOwner);
	await expect(acquire()).rejects.toMatchObject({ code: 'LOCKED' });
});

it('says in the log who holds the lock while it waits', async () => {
	const live = spawn('sleep', ['60']);
	const messages: string[] = [];
	try {
		await writeLock({ ...currentOwner('busy-worker'), pid: live.pid! });
		await expect(
			EnvironmentLock.acquire(openDestination({ type: 'local', folder: root }), 'prod', currentOwner('next-run'), {
				purpose: 'upload',
				waitMs: 300,
				pollMs: 50,
				logger: { debug() {}, info: (m: string) => messages.push(m), warn: (m: string) => messages.push(m) },
			}),
		).rejects.toMatchObject({ code: 'LOCKED' });
	} finally {
		live.kill();
	}
	expect(messages).toEqual([
		expect.stringMatching(new RegExp(`locked by .*pid ${live.pid}, execution busy-worker.* for upload.*waiting up to`)),
	]);
});
