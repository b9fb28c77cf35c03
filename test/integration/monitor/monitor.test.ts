/**
 * TOTVS Monitor against real destinations and real sets: Protheus file-tree sets made by
 * makeBackup on a tiny tree, uploaded by uploadSet to a local folder and to OpenSSH's sshd,
 * restore-test records written by writeRestoreRecord; the figures are asserted against what the
 * test made. Then what goes wrong: a removed artifact, an invalid manifest, a stale lock, an
 * unreachable server, a backup older than its limit. The Monitor itself changes nothing.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupResult } from '../../../core/backup';
import { openDestination, type Destination, type DestinationConfig, type SftpConfig } from '../../../core/destinations';
import { currentOwner, lockPath } from '../../../core/locking/environment-lock';
import { runMonitor, type MonitorTarget } from '../../../core/monitor';
import { writeRestoreRecord } from '../../../core/restore-record';
import { uploadSet } from '../../../core/upload/set-transfer';
import { daemonUnavailable } from '../../../support/daemons';
import { createProtheusTree, filesBackup, type ProtheusTree } from '../../../support/fixtures/protheus-tree';
import { startSshd, type SshdServer } from '../../../support/sshd';
import { localRoot, sftpRoot, type Root } from './targets';

const sshdMissing = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
const suite = sshdMissing ? describe.skip : describe;
if (sshdMissing) console.warn(`TOTVS Monitor on real destinations: skipped: ${sshdMissing}`);

const HOUR = 3600_000;
let work: string;
let tree: ProtheusTree;
let sshd: SshdServer;
let local: Root<DestinationConfig>;
let sftp: Root<SftpConfig>;
const sets: BackupResult[] = [];
const bytesOf = (set: BackupResult) => set.manifest.artifacts.reduce((sum, a) => sum + a.bytes, 0);

const target = (root: Root<DestinationConfig>): MonitorTarget => ({
	label: root.path,
	open: () => openDestination(root.config),
});

async function withDestination<T>(root: Root<DestinationConfig>, work: (d: Destination) => Promise<T>): Promise<T> {
	const destination = openDestination(root.config);
	try {
		return await work(destination);
	} finally {
		await destination.close();
	}
}

/** Every file and folder under a root with its size and time: what "changed nothing" is checked against. */
async function snapshot(root: string): Promise<string[]> {
	const out: string[] = [];
	const walk = async (folder: string) => {
		for (const entry of await readdir(folder, { withFileTypes: true })) {
			const path = join(folder, entry.name);
			const stat = statSync(path);
			out.push(`${path.slice(root.length)} ${stat.size} ${stat.mtimeMs}`);
			if (entry.isDirectory()) await walk(path);
		}
	};
	await walk(root);
	return out.sort();
}

suite('TOTVS Monitor on real destinations', () => {
	beforeAll(async () => {
		work = mkdtempSync(join(tmpdir(), 'totvs-monitor-'));
		tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 40, rpoBytes: 256 * 1024, tables: 2 });
		const staging = join(work, 'staging');
		mkdirSync(staging);
		const options = { appserverIni: tree.appserverIni };
		sets.push(await filesBackup(staging, 'full', options));
		// A bigger second full (the size trend), then an incremental on it (the chain).
		writeFileSync(join(tree.protheusData, 'system', 'grew.dtc'), Buffer.alloc(300 * 1024, 7));
		sets.push(await filesBackup(staging, 'full', options));
		writeFileSync(join(tree.protheusData, 'system', 'changed.dtc'), Buffer.alloc(1024, 1));
		sets.push(await filesBackup(staging, 'incremental', options));

		sshd = await startSshd();
		local = localRoot();
		sftp = sftpRoot(sshd);
		for (const root of [local, sftp])
			await withDestination(root, async (destination) => {
				for (const set of sets)
					await uploadSet(destination, set.folder, {
						lock: { owner: currentOwner('monitor-test'), options: { waitMs: 0 } },
					});
			});
		// The restore tests: the first full passed yesterday on the local folder, the second passed an hour ago on SFTP.
		const now = Date.now();
		await withDestination(local, (d) =>
			writeRestoreRecord(d, {
				environment: 'p12',
				testedId: sets[0].manifest.backupId,
				engine: 'protheus-files',
				passed: true,
				startedAt: new Date(now - 25 * HOUR),
				finishedAt: new Date(now - 24 * HOUR),
				restoreMs: 40_000,
				fetchMs: 20_000,
				checksMs: 0,
				restoredBytes: 1000,
				checks: [],
				restoreServer: { engine: 'protheus-files', target: '/tmp/restore' },
			}),
		);
		await withDestination(sftp, (d) =>
			writeRestoreRecord(d, {
				environment: 'p12',
				testedId: sets[1].manifest.backupId,
				engine: 'protheus-files',
				passed: true,
				startedAt: new Date(now - 2 * HOUR),
				finishedAt: new Date(now - HOUR),
				restoreMs: 90_000,
				restoredBytes: 2000,
				checks: [{ name: 'files', ok: true, expected: '40', actual: '40' }],
				restoreServer: { engine: 'protheus-files', target: '/tmp/restore' },
			}),
		);
	}, 300_000);
	afterAll(async () => {
		await local?.cleanup();
		await sftp?.cleanup();
		await sshd?.stop();
		rmSync(work, { recursive: true, force: true });
	});

	it('reports the figures of the sets and restore tests it was given, and changes nothing', async () => {
		const before = await snapshot(local.path);
		const { results, readings } = await runMonitor([target(local), target(sftp)]);
		expect(await snapshot(local.path)).toEqual(before);

		expect(results.map((r) => [r.environment, r.status, r.reasons.map((x) => x.en)])).toEqual([['p12', 'ok', []]]);
		const [p12] = results;
		const [full1, full2, incremental] = sets.map((s) => s.manifest);
		expect(p12.figures.newest).toEqual([
			expect.objectContaining({
				engine: 'protheus-files',
				component: 'files',
				type: 'full',
				backupId: full2.backupId,
				startedAt: full2.startedAt,
				bytes: bytesOf(sets[1]),
				copies: 2,
				destinations: [readings[0].destination, readings[1].destination],
			}),
			expect.objectContaining({ type: 'incremental', backupId: incremental.backupId, copies: 2 }),
		]);
		expect(readings[1].destination).toMatch(/^sftp:\/\//);
		expect(p12.figures.newest[0].ageSeconds).toBeLessThan(600);
		expect(p12.figures.chains).toEqual([
			{
				engine: 'protheus-files',
				component: 'files',
				newestBackupId: incremental.backupId,
				length: 2,
				fullBackupId: full2.backupId,
			},
		]);
		expect(p12.figures.sizes.find((s) => s.type === 'full')).toMatchObject({
			samples: [
				{ backupId: full1.backupId, bytes: bytesOf(sets[0]) },
				{ backupId: full2.backupId, bytes: bytesOf(sets[1]) },
			],
			latestBytes: bytesOf(sets[1]),
			previousMedianBytes: bytesOf(sets[0]),
		});
		expect(p12.figures.restoreTests).toMatchObject({
			count: 2,
			newestPassed: { testedId: full2.backupId },
			last: { testedId: full2.backupId, passed: true, rtoMs: 90_000 },
			rto: {
				samples: [
					{ testedId: full1.backupId, rtoMs: 60_000 },
					{ testedId: full2.backupId, rtoMs: 90_000 },
				],
			},
		});
		expect(Math.abs(p12.figures.restoreTests.newestPassed!.ageSeconds - 3600)).toBeLessThan(120);
		expect(p12.figures).toMatchObject({ completeSets: 3, copies: 2, requiredCopies: 2, unfinished: [], invalid: [] });
	});

	it('the newest full older than its limit is critical; within it, ok', async () => {
		const later = (hours: number) => () => new Date(Date.parse(sets[1].manifest.startedAt) + hours * HOUR);
		const stale = await runMonitor([target(local)], { now: later(27), thresholds: { maxRestoreTestAgeDays: 0 } });
		expect(stale.results[0].status).toBe('critical');
		expect(stale.results[0].reasons.map((r) => r.code)).toEqual(['stale-backup']);
		const fresh = await runMonitor([target(local)], { now: later(25), thresholds: { maxRestoreTestAgeDays: 0 } });
		expect(fresh.results[0].status).toBe('ok');
	});

	it('an unreachable server is a critical reason naming it; the other destination still reports', async () => {
		const dead: MonitorTarget = {
			label: 'sftp-dead',
			open: () => openDestination({ ...sftp.config, port: 1, timeoutMs: 5000 }),
		};
		const { results } = await runMonitor([target(local), dead], { thresholds: { minCopies: 1 } });
		const [p12] = results;
		expect(p12.status).toBe('critical');
		expect(p12.reasons).toHaveLength(1);
		expect(p12.reasons[0]).toMatchObject({ code: 'destination-unreachable', severity: 'critical' });
		expect(p12.reasons[0].en).toMatch(/^Destination sftp:\/\/.*127\.0\.0\.1:1\/.* could not be read: /);
		expect(p12.figures.newest[0]).toMatchObject({ copies: 1 });
	});

	it('an environment named but never backed up is critical', async () => {
		const { results } = await runMonitor([target(local)], { environments: ['p12', 'homolog'] });
		expect(results.map((r) => [r.environment, r.status])).toEqual([
			['p12', 'ok'],
			['homolog', 'critical'],
		]);
		expect(results[1].reasons.map((r) => r.code)).toEqual(['never-backed-up']);
	});

	describe('what goes wrong on a destination', () => {
		let broken: Root<DestinationConfig>;
		beforeAll(async () => {
			broken = localRoot();
			await withDestination(broken, async (destination) => {
				for (const set of sets)
					await uploadSet(destination, set.folder, {
						lock: { owner: currentOwner('monitor-test'), options: { waitMs: 0 } },
					});
			});
			const incremental = sets[2].manifest;
			// An artifact of the incremental is gone; the first full's manifest is garbled.
			unlinkSync(join(broken.path, 'p12', incremental.backupId, incremental.artifacts[0].path));
			const manifest = join(broken.path, 'p12', sets[0].manifest.backupId, 'manifest.json');
			writeFileSync(manifest, readFileSync(manifest, 'utf8').slice(0, 100));
			// An upload that died three days ago left its lock.
			const renewedAt = new Date(Date.now() - 3 * 24 * HOUR).toISOString();
			writeFileSync(
				join(broken.path, lockPath('p12')),
				JSON.stringify({
					format: 1,
					environment: 'p12',
					owner: { hostname: 'worker-2', pid: 4242, executionId: '991' },
					token: 'abc',
					purpose: 'upload',
					acquiredAt: renewedAt,
					renewedAt,
					staleAfterMs: 600_000,
				}),
			);
		}, 120_000);
		afterAll(async () => {
			await broken?.cleanup();
		});

		it('a damaged set, an invalid manifest and a stale lock are warnings naming them; nothing is repaired or removed', async () => {
			const before = await snapshot(broken.path);
			const { results } = await runMonitor([target(broken), target(local)]);
			expect(await snapshot(broken.path)).toEqual(before);
			const [p12] = results;
			expect(p12.status).toBe('warning');
			expect(p12.reasons.map((r) => r.code).sort()).toEqual([
				'damaged-set',
				'invalid-set',
				'stale-lock',
				'too-few-copies',
			]);
			const text = p12.reasons.map((r) => r.en).join('\n');
			expect(text).toContain(`${sets[2].manifest.backupId}: ${sets[2].manifest.artifacts[0].path}: missing`);
			expect(text).toContain(`invalid manifest on file://${broken.path}: ${sets[0].manifest.backupId}`);
			expect(text).toMatch(
				/Stale lock on .*: worker-2 \(pid 4242, execution 991\) \(upload\) stopped renewing it 3\.0 days ago/,
			);
			expect(p12.figures.newest.find((n) => n.type === 'incremental')).toMatchObject({ copies: 1 });
			expect(p12.figures.staleLocks).toBe(1);
		});
	});
});
