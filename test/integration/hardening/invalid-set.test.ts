/**
 * Issue 11, item 3 (second half): one bad set on a destination must not stop List and Prune for
 * the whole environment (retention would silently stop). It is listed as invalid with the
 * reason; Prune never deletes it, reports it, and prunes the rest.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeManifest } from '../../../core/backup-set/manifest';
import { openDestination, type Destination } from '../../../core/destinations';
import { currentOwner } from '../../../core/locking/environment-lock';
import { listRemoteSets } from '../../../core/upload/remote-catalog';
import { pruneSets, uploadSet } from '../../../core/upload/set-transfer';
import { sampleManifest } from '../../fixtures/manifest';
import { syntheticSet } from './sets';

let root: string;
let staging: string;
let destination: Destination;
const lock = { owner: currentOwner('invalid-set'), options: { waitMs: 0 } };
const day = (n: number) => new Date(Date.UTC(2026, 9, n, 2));

beforeEach(() => {
	root = mkdtempSync(join(tmpdir(), 'totvs-invalid-'));
	staging = mkdtempSync(join(tmpdir(), 'totvs-invalid-staging-'));
	destination = openDestination({ type: 'local', folder: root });
});
afterEach(async () => {
	await destination.close();
	rmSync(root, { recursive: true, force: true });
	rmSync(staging, { recursive: true, force: true });
});

/** A set folder on the destination whose manifest is JSON but not a manifest we accept. */
function badSet(backupId: string, manifest: string) {
	const folder = join(root, 'prod', backupId);
	mkdirSync(folder, { recursive: true });
	writeFileSync(join(folder, 'protheus.dump'), 'bytes');
	writeFileSync(join(folder, 'manifest.json'), manifest);
	return folder;
}

it('lists a bad set as invalid with the reason, and Prune skips it while pruning the rest', async () => {
	const old = await syntheticSet(staging, day(1));
	const kept = await syntheticSet(staging, day(20));
	for (const set of [old, kept]) await uploadSet(destination, set.folder, { lock });

	// The reproduced case: an artifact path whose newline hid ".." from the check.
	const pwnId = 'prod-20261005T020000Z-full-db';
	const pwn = sampleManifest({ backupId: pwnId, startedAt: day(5).toISOString(), finishedAt: day(5).toISOString() });
	pwn.artifacts[0].path = 'x\n/../../../../tmp/pwn';
	const pwnFolder = badSet(pwnId, JSON.stringify(pwn));
	// A manifest that belongs to another folder (copied by hand): not this folder's set.
	const strayId = 'prod-20261006T020000Z-full-db';
	const strayFolder = badSet(
		strayId,
		serializeManifest(sampleManifest({ backupId: 'prod-20261126T020000Z-full-db', startedAt: day(6).toISOString() })),
	);
	// An incremental whose parent is the unreadable set: it must not be pruned as "chain broken"
	// on the strength of a manifest nobody could read.
	const child = await syntheticSet(staging, day(7), { type: 'incremental', base: pwnId, parent: pwnId });
	await uploadSet(destination, child.folder, { lock });

	const catalog = await listRemoteSets(destination, 'prod');
	expect(catalog.sets.map((s) => s.backupId)).toEqual([old.backupId, child.backupId, kept.backupId]);
	expect(catalog.invalid).toEqual([
		{ folder: `prod/${pwnId}`, reason: expect.stringMatching(/artifacts\[0\]\.path/) },
		{ folder: `prod/${strayId}`, reason: expect.stringMatching(/belongs to set prod-20261126T020000Z-full-db/) },
	]);

	const result = await pruneSets(destination, {
		environment: 'prod',
		policy: {
			keepLast: 1,
			keepDaily: 0,
			keepWeekly: 0,
			keepMonthly: 0,
			keepYearly: 0,
			minimumAgeDays: 0,
			unfinishedAfterHours: 24,
		},
		dryRun: false,
		lock,
	});
	expect(result.deleted).toEqual([old.backupId]);
	expect(result.invalid).toEqual([
		{ path: `prod/${pwnId}`, reason: expect.stringContaining('artifacts[0].path') },
		{ path: `prod/${strayId}`, reason: expect.any(String) },
	]);
	expect(result.plan.sets.find((d) => d.backupId === child.backupId)).toMatchObject({
		action: 'keep',
		reasons: [{ rule: 'needs-invalid-set' }],
	});
	expect(readdirSync(pwnFolder).sort()).toEqual(['manifest.json', 'protheus.dump']);
	expect(readdirSync(strayFolder).sort()).toEqual(['manifest.json', 'protheus.dump']);
	expect((await listRemoteSets(destination, 'prod')).sets.map((s) => s.backupId)).toEqual([
		child.backupId,
		kept.backupId,
	]);
});
