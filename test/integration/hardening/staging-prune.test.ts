/**
 * Issue 11, item 1, for the staging folder: the README suggests a Prune with a Local / Network
 * Folder destination on the staging folder. A dump killed mid-way (an n8n worker killed with
 * SIGKILL: abort() never runs) leaves a set folder without manifest there; it must carry the
 * same in-progress marker as an upload, so that Prune can prove it is ours and clean it, while
 * anything else in the staging folder is left alone.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { IN_PROGRESS_MARKER } from '../../../core/backup-set/manifest';
import { BackupSetWriter } from '../../../core/backup-set/set-writer';
import { openDestination } from '../../../core/destinations';
import { currentOwner } from '../../../core/locking/environment-lock';
import { downloadSet, pruneSets, uploadSet } from '../../../core/upload/set-transfer';
import { backdate, defaultPolicy, syntheticSet } from './sets';

let staging: string;
beforeEach(() => {
	staging = mkdtempSync(join(tmpdir(), 'totvs-staging-prune-'));
});
afterEach(() => rmSync(staging, { recursive: true, force: true }));

it('a dump that died mid-way is cleaned by a Prune of the staging folder; other folders there are not', async () => {
	const done = await syntheticSet(staging, new Date());
	expect(readdirSync(done.folder).sort()).toEqual(['manifest.json', 'protheus.dump']); // no marker once complete

	// The dump process dies here: no commit, no abort.
	const died = await BackupSetWriter.create(staging, 'prod', 'full', 'database', new Date(Date.now() - 72 * 3_600_000));
	await died.writeArtifact('protheus.dump', 'pg_dump-custom', Readable.from([randomBytes(64)]));
	expect(readdirSync(died.folder)).toContain(IN_PROGRESS_MARKER);
	backdate(died.folder, 72);

	const mine = join(staging, 'prod', 'exports-for-audit');
	mkdirSync(mine);
	writeFileSync(join(mine, 'sa1010.csv'), 'A1_COD;A1_NOME\n');
	backdate(mine, 72);

	const destination = openDestination({ type: 'local', folder: staging });
	const result = await pruneSets(destination, {
		environment: 'prod',
		policy: defaultPolicy,
		dryRun: false,
		lock: { owner: currentOwner('staging-prune'), options: { waitMs: 0 } },
	});
	expect(result.deleted).toEqual([died.backupId]);
	expect(existsSync(died.folder)).toBe(false);
	expect(readdirSync(mine)).toEqual(['sa1010.csv']);
	expect(result.ignored).toEqual([{ path: 'prod/exports-for-audit', reason: expect.any(String) }]);
	expect(existsSync(join(done.folder, 'manifest.json'))).toBe(true);
});

it('an interrupted download into staging carries the marker too, and a finished one does not', async () => {
	const remoteRoot = mkdtempSync(join(tmpdir(), 'totvs-staging-prune-remote-'));
	try {
		const source = mkdtempSync(join(tmpdir(), 'totvs-staging-prune-source-'));
		const set = await syntheticSet(source, new Date());
		const remote = openDestination({ type: 'local', folder: remoteRoot });
		await uploadSet(remote, set.folder, { lock: { owner: currentOwner('up'), options: { waitMs: 0 } } });
		rmSync(source, { recursive: true, force: true });
		const failingManifest = new Proxy(remote, {
			get(object, property, receiver) {
				const value = Reflect.get(object, property, receiver);
				if (property !== 'get' || typeof value !== 'function') return value;
				return async (path: string, ...rest: unknown[]) => {
					if (path.endsWith('/manifest.json')) throw new Error('connection reset (simulated)');
					return value.apply(object, [path, ...rest]);
				};
			},
		});
		const options = { environment: 'prod', backupId: set.backupId, stagingFolder: staging };
		await expect(downloadSet(failingManifest, options)).rejects.toThrow(/connection reset/);
		expect(readdirSync(join(staging, 'prod', set.backupId)).sort()).toEqual(['protheus.dump', IN_PROGRESS_MARKER]);
		const done = await downloadSet(remote, options);
		// (the synthetic dump is random bytes: only the hash check can pass, pg_restore cannot read it)
		expect(done.verification.checks.find((c) => c.name === 'artifacts')?.ok).toBe(true);
		expect(readdirSync(done.folder).sort()).toEqual(['manifest.json', 'protheus.dump']);
	} finally {
		rmSync(remoteRoot, { recursive: true, force: true });
	}
});
