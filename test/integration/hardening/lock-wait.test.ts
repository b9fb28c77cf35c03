/**
 * Issue 17 finding: the wait for another execution's lock was counted as upload time ("478.2 MiB
 * in 9 min 34 s"). The wait is reported apart (`lockWaitMs`), `durationMs` (and the summary's
 * speed, computed from it) covers the transfer only, and the log names who held the lock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDestination, type Destination } from '../../../core/destinations';
import { EnvironmentLock, currentOwner } from '../../../core/locking/environment-lock';
import { pruneSets, uploadSet } from '../../../core/upload/set-transfer';
import { defaultPolicy, syntheticSet } from './sets';

let root: string;
let staging: string;
let destination: Destination;
beforeEach(() => {
	root = mkdtempSync(join(tmpdir(), 'totvs-lock-wait-'));
	staging = mkdtempSync(join(tmpdir(), 'totvs-lock-wait-staging-'));
	destination = openDestination({ type: 'local', folder: root });
});
afterEach(() => {
	rmSync(root, { recursive: true, force: true });
	rmSync(staging, { recursive: true, force: true });
});

const HELD_MS = 1500;

/** Another execution holds the environment for `ms`, then releases it; resolves once it holds it. */
async function holdFor(ms: number): Promise<{ released: Promise<void> }> {
	const other = await EnvironmentLock.acquire(
		openDestination({ type: 'local', folder: root }),
		'prod',
		currentOwner('nightly-42'),
		{ purpose: 'upload' },
	);
	// Wrapped: an async function returning a bare promise would wait for it.
	return { released: new Promise<void>((resolve) => setTimeout(() => void other.release().then(resolve), ms)) };
}

it('reports the lock wait apart from the upload time, and logs who held the lock', async () => {
	const set = await syntheticSet(staging, new Date());
	const { released } = await holdFor(HELD_MS);
	const messages: string[] = [];
	const logger = { debug() {}, info: (m: string) => messages.push(m), warn: (m: string) => messages.push(m) };
	const started = Date.now();
	const result = await uploadSet(destination, set.folder, {
		lock: { owner: currentOwner('manual-7'), options: { waitMs: 30_000, pollMs: 100 } },
		logger,
	});
	const elapsed = Date.now() - started;
	await released;
	expect(result.lockWaitMs).toBeGreaterThanOrEqual(HELD_MS - 200);
	expect(result.durationMs).toBeLessThanOrEqual(elapsed - result.lockWaitMs + 50);
	expect(result.durationMs + result.lockWaitMs).toBeLessThanOrEqual(elapsed + 50);
	expect(messages[0]).toMatch(/locked by .*execution nightly-42.* for upload .*waiting up to/);
});

it('Prune reports its lock wait too', async () => {
	const { released } = await holdFor(HELD_MS);
	const result = await pruneSets(destination, {
		environment: 'prod',
		policy: defaultPolicy,
		dryRun: false,
		lock: { owner: currentOwner('prune-1'), options: { waitMs: 30_000, pollMs: 100 } },
	});
	await released;
	expect(result.lockWaitMs).toBeGreaterThanOrEqual(HELD_MS - 200);
});
