/**
 * Issue 11, item 9: List and Prune must not cost one remote request per artifact. A `-Fd` dump
 * of a Protheus database has one file per table (thousands); on Google Drive each request
 * counts against the API quota. Listing trusts the manifest for what the set holds and checks
 * presence and sizes with one listing per folder of the set; Verify is what reads every file.
 */
import { cpSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDestination, type Destination } from '../../../core/destinations';
import { currentOwner } from '../../../core/locking/environment-lock';
import { listRemoteSets } from '../../../core/upload/remote-catalog';
import { pruneSets } from '../../../core/upload/set-transfer';
import { defaultPolicy, syntheticSet } from './sets';

const ARTIFACTS = 3000;
let root: string;
let staging: string;
let set: { folder: string; backupId: string };

beforeAll(async () => {
	staging = mkdtempSync(join(tmpdir(), 'totvs-count-staging-'));
	root = mkdtempSync(join(tmpdir(), 'totvs-count-'));
	set = await syntheticSet(staging, new Date(Date.UTC(2026, 10, 20, 2)), { files: ARTIFACTS });
	// The destination is a local folder with the same layout: the set as a finished upload leaves it.
	cpSync(join(staging, 'prod'), join(root, 'prod'), { recursive: true });
}, 300_000);
afterAll(() => {
	rmSync(root, { recursive: true, force: true });
	rmSync(staging, { recursive: true, force: true });
});

/** Counts every call made on the Destination interface, by method. */
function counting(target: Destination): {
	destination: Destination;
	calls: Record<string, number>;
	total: () => number;
} {
	const calls: Record<string, number> = {};
	const destination = new Proxy(target, {
		get(object, property, receiver) {
			const value = Reflect.get(object, property, receiver);
			if (typeof value !== 'function' || property === 'describe') return value;
			return (...args: unknown[]) => {
				calls[String(property)] = (calls[String(property)] ?? 0) + 1;
				return value.apply(object, args);
			};
		},
	});
	return { destination, calls, total: () => Object.values(calls).reduce((a, b) => a + b, 0) };
}

it(`List of a ${ARTIFACTS}-artifact set makes a handful of requests, not one per artifact`, async () => {
	const { destination, calls, total } = counting(openDestination({ type: 'local', folder: root }));
	const catalog = await listRemoteSets(destination, 'prod');
	console.log(`List, ${ARTIFACTS}-artifact set: ${total()} Destination calls ${JSON.stringify(calls)}`);
	expect(catalog.sets).toMatchObject([{ backupId: set.backupId, remoteStatus: 'complete' }]);
	expect(catalog.sets[0].manifest.artifacts).toHaveLength(ARTIFACTS);
	expect(total()).toBeLessThanOrEqual(6);
});

it(`Prune of an environment holding a ${ARTIFACTS}-artifact set makes a handful of requests`, async () => {
	const { destination, calls, total } = counting(openDestination({ type: 'local', folder: root }));
	const result = await pruneSets(destination, {
		environment: 'prod',
		policy: defaultPolicy,
		dryRun: false,
		lock: { owner: currentOwner('count'), options: { waitMs: 0 } },
	});
	console.log(`Prune, ${ARTIFACTS}-artifact set: ${total()} Destination calls ${JSON.stringify(calls)}`);
	expect(result.plan.sets).toMatchObject([{ backupId: set.backupId, action: 'keep' }]);
	expect(total()).toBeLessThanOrEqual(20); // the listing, plus taking, checking and releasing the lock
});

it('still reports a missing or resized artifact, from the folder listing', async () => {
	const { destination, total } = counting(openDestination({ type: 'local', folder: root }));
	const [first, second] = (await listRemoteSets(destination, 'prod')).sets[0].manifest.artifacts;
	unlinkSync(join(root, 'prod', set.backupId, ...first.path.split('/')));
	cpSync(
		join(staging, 'prod', set.backupId, 'manifest.json'),
		join(root, 'prod', set.backupId, ...second.path.split('/')),
	);
	const before = total();
	const [listed] = (await listRemoteSets(destination, 'prod')).sets;
	expect(listed).toMatchObject({ remoteStatus: 'damaged' });
	expect(listed.problem).toContain(`${first.path}: missing`);
	expect(listed.problem).toMatch(new RegExp(`${second.path}: \\d+ bytes, expected ${second.bytes}`));
	expect(total() - before).toBeLessThanOrEqual(6);
});
