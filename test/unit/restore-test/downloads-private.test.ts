/**
 * Issue 12, item 5, for what we download: a set brought back by TOTVS Upload's Download and the
 * chain Restore Test fetches from a destination hold the company's data, so every file lands
 * 0600 and every folder we create 0700 (read on disk), whatever the process umask; a rerun
 * that repairs a damaged local copy keeps the modes private.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { BackupSetWriter } from '../../../core/backup-set/set-writer';
import { LocalFolderDestination } from '../../../core/destinations';
import { silentLogger } from '../../../core/logger';
import { fetchRemoteSqlServerChain } from '../../../core/restore-test/remote/sqlserver';
import { downloadSet, uploadSet } from '../../../core/upload/set-transfer';
import { sampleManifest } from '../../fixtures/manifest';
import { makeTestbed, type Testbed } from '../sources/sqlserver/testbed';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
const lock = { owner: { hostname: hostname(), pid: process.pid, executionId: 'test' }, options: { waitMs: 0 } };
let bed: Testbed;
let offsite: LocalFolderDestination;
let staging: string;
let umaskBefore: number;

beforeEach(async () => {
	// A permissive umask, as in some containers: the modes must not come from it.
	umaskBefore = process.umask(0o002);
	bed = await makeTestbed(SERVER_FOLDER);
	const offsiteFolder = join(bed.root, 'offsite');
	staging = join(bed.root, 'staging');
	await mkdir(offsiteFolder);
	await mkdir(staging, { mode: 0o755 });
	offsite = new LocalFolderDestination({ type: 'local', folder: offsiteFolder });
});
afterEach(async () => {
	process.umask(umaskBefore);
	await bed.dispose();
});

/** Mode of every entry under `root` (files and folders), by path relative to `from`. */
async function modesUnder(root: string, from = root): Promise<Record<string, string>> {
	const out: Record<string, string> = {};
	for (const entry of await readdir(root, { withFileTypes: true })) {
		const path = join(root, entry.name);
		out[relative(from, path) + (entry.isDirectory() ? '/' : '')] = ((await lstat(path)).mode & 0o777).toString(8);
		if (entry.isDirectory()) Object.assign(out, await modesUnder(path, from));
	}
	return out;
}

const onlyPrivate = (modes: Record<string, string>) =>
	Object.entries(modes).filter(([path, mode]) => mode !== (path.endsWith('/') ? '700' : '600'));

/** A PostgreSQL-shaped set with an artifact in a subfolder (as a -Fd dump has), uploaded. */
async function uploadedNestedSet(): Promise<string> {
	const local = join(bed.root, 'made');
	await mkdir(local);
	const at = new Date('2026-12-01T02:00:00Z');
	const set = await BackupSetWriter.create(local, 'prod', 'full', 'database', at);
	const top = await set.writeArtifact('protheus.dump', 'pg_dump-custom', Readable.from([randomBytes(4096)]));
	const nested = await set.writeArtifact('extra/toc.dat', 'pg_dump-custom', Readable.from([randomBytes(512)]));
	await set.commit(
		sampleManifest({
			backupId: set.backupId,
			startedAt: at.toISOString(),
			finishedAt: at.toISOString(),
			artifacts: [top, nested],
		}),
	);
	await uploadSet(offsite, set.folder, { lock });
	return set.backupId;
}

describe('downloads are private on disk', () => {
	it('Download: the environment and set folders 0700, every file 0600 (nested artifacts too)', async () => {
		const backupId = await uploadedNestedSet();
		const result = await downloadSet(offsite, {
			backupId,
			environment: 'prod',
			stagingFolder: staging,
			logger: silentLogger,
		});
		// (its dump is random bytes: pg_restore's check fails, the modes are what this test is about)
		expect(result.folder).toBe(join(staging, 'prod', backupId));
		const modes = await modesUnder(staging);
		expect(Object.keys(modes).sort()).toEqual(
			[
				'prod/',
				`prod/${backupId}/`,
				`prod/${backupId}/extra/`,
				`prod/${backupId}/extra/toc.dat`,
				`prod/${backupId}/manifest.json`,
				`prod/${backupId}/protheus.dump`,
			].sort(),
		);
		expect(onlyPrivate(modes)).toEqual([]);
	});

	it('Download again over a damaged local copy: the repaired file is 0600 too', async () => {
		const backupId = await uploadedNestedSet();
		const options = { backupId, environment: 'prod', stagingFolder: staging, logger: silentLogger };
		await downloadSet(offsite, options);
		await writeFile(join(staging, 'prod', backupId, 'protheus.dump'), 'damaged', { mode: 0o644 });
		const again = await downloadSet(offsite, options);
		expect(again.downloadedBytes).toBe(4096);
		expect(onlyPrivate(await modesUnder(staging))).toEqual([]);
	});

	it('Restore Test from a destination: the download folder 0700 and the chain inside it 0700/0600', async () => {
		await uploadSet(offsite, (await bed.backup('full', {}, staging)).folder, { lock });
		await uploadSet(offsite, (await bed.backup('log', {}, staging)).folder, { lock });
		const fetched = await fetchRemoteSqlServerChain(offsite, {
			environment: 'prod',
			sharedFolder: () => ({ serverFolder: SERVER_FOLDER, localFolder: bed.share }),
			logger: silentLogger,
		});
		try {
			expect(fetched.chain).toHaveLength(2);
			const [work] = (await readdir(bed.share)).filter((n) => n.startsWith('.restore-test-download-'));
			const modes = await modesUnder(join(bed.share, work));
			expect(Object.keys(modes).filter((p) => p.endsWith('/manifest.json'))).toHaveLength(2);
			expect(((await lstat(join(bed.share, work))).mode & 0o777).toString(8)).toBe('700');
			expect(onlyPrivate(modes)).toEqual([]);
		} finally {
			await fetched.finish(false);
		}
	});

	it('Restore Test from a destination, Keep Downloaded Set: the kept sets and the folders made for them stay private', async () => {
		await uploadSet(offsite, (await bed.backup('full', {}, staging)).folder, { lock });
		const fetched = await fetchRemoteSqlServerChain(offsite, {
			environment: 'prod',
			sharedFolder: () => ({ serverFolder: SERVER_FOLDER, localFolder: bed.share }),
			logger: silentLogger,
		});
		const kept = await fetched.finish(true);
		expect(kept).toBe(join(bed.share, 'prod', fetched.backupId));
		expect(onlyPrivate(await modesUnder(bed.share))).toEqual([]);
	});
});
