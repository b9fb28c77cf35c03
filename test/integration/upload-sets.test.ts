/**
 * Set-level upload / list / download / prune and the per-environment lock, through core/ against
 * real destinations: a local folder, OpenSSH's sshd (SFTP) and vsftpd (FTPS) on loopback, and
 * the Google Drive v3 emulator (the one destination that is emulated). The set uploaded is a
 * real pg_dump made from the shared PostgreSQL server; the prune history is made of small sets
 * with real manifests.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
	chownSync,
	cpSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readFileSync,
	readdirSync,
	rmSync,
	writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeBackup } from '../../core/backup';
import { readSet } from '../../core/backup-set/catalog';
import { IN_PROGRESS_MARKER, type BackupType } from '../../core/backup-set/manifest';
import { BackupSetWriter } from '../../core/backup-set/set-writer';
import type { Destination, DestinationConfig, FtpConfig, GoogleDriveConfig, SftpConfig } from '../../core/destinations';
import { LocalFolderDestination } from '../../core/destinations';
import { BackupError } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import { EnvironmentLock, LOCK_FILE, currentOwner, lockPath } from '../../core/locking/environment-lock';
import { defaultDumpOptions, PostgresSource } from '../../core/sources/postgres/postgres-source';
import { openDestination } from '../../core/destinations';
import { listRemoteSets } from '../../core/upload/remote-catalog';
import { downloadSet, pruneSets, uploadSet } from '../../core/upload/set-transfer';
import type { RetentionPolicy } from '../../core/retention/retention';
import { sampleManifest } from '../fixtures/manifest';
import { daemonUnavailable } from '../../support/daemons';
import { startDriveEmulator } from '../../support/drive-emulator';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';
import { createProtheusDatabase, dropDatabase } from '../../support/fixtures/protheus-db';
import { startSshd, type SshdServer } from '../../support/sshd';
import { startVsftpd, vsftpdUnavailable, type VsftpdServers } from '../../support/vsftpd';

const server = sharedPostgres();
const execFileAsync = promisify(execFile);
const TSX = join(__dirname, '../../node_modules/.bin/tsx');
const CONTENDER = join(__dirname, '../../support/lock-contender.ts');
let staging: string;
let realSetFolder: string;
let realBackupId: string;
let sshd: SshdServer | undefined;
const sshdMissing = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
let ftp: VsftpdServers | undefined;
const ftpMissing = vsftpdUnavailable();
const owner = (executionId: string) => currentOwner(executionId);
const lockSettings = (executionId = 'exec-1') => ({ owner: owner(executionId), options: { waitMs: 0 } });

let database: string;
beforeAll(async () => {
	database = uniqueName('upload');
	await createProtheusDatabase(server, { name: database, scale: 20 });
	staging = mkdtempSync(join(tmpdir(), 'totvs-upload-staging-'));
	const result = await makeBackup(new PostgresSource(), {
		connection: {
			host: server.host,
			port: server.port,
			database,
			user: server.user,
			password: server.password,
			sslMode: 'disable',
			binFolder: server.binDir,
		},
		options: defaultDumpOptions,
		environment: 'prod',
		type: 'full',
		stagingFolder: staging,
		log: silentLogger,
	});
	realSetFolder = result.folder;
	realBackupId = result.manifest.backupId;
	if (!sshdMissing) sshd = await startSshd();
	if (!ftpMissing) ftp = await startVsftpd();
});
afterAll(async () => {
	await sshd?.stop();
	await ftp?.stop();
	await dropDatabase(server, database);
	rmSync(staging, { recursive: true, force: true });
});

interface Target {
	name: string;
	unavailable?: string;
	/** A fresh, empty destination root, and a function making more connections to it. */
	make(): Promise<{ config: DestinationConfig; cleanup: () => Promise<void> }>;
}

const targets: Target[] = [
	{
		name: 'local folder',
		async make() {
			const folder = mkdtempSync(join(tmpdir(), 'totvs-dest-'));
			return { config: { type: 'local', folder }, cleanup: () => rm(folder, { recursive: true, force: true }) };
		},
	},
	{
		name: 'SFTP (OpenSSH sshd on loopback)',
		unavailable: sshdMissing,
		async make() {
			const s = sshd!;
			const folder = `t-${randomBytes(4).toString('hex')}`;
			// The destination root is the user's to create (a login folder subfolder here).
			mkdirSync(join(s.user.home, folder));
			chownSync(join(s.user.home, folder), s.user.uid, s.user.gid);
			const config: SftpConfig = {
				type: 'sftp',
				host: s.host,
				port: s.port,
				username: s.user.name,
				password: s.user.password,
				hostKeySha256: s.hostKeySha256,
				folder,
			};
			return { config, cleanup: () => rm(join(s.user.home, folder), { recursive: true, force: true }) };
		},
	},
	{
		name: 'FTPS (vsftpd on loopback, explicit TLS)',
		unavailable: ftpMissing,
		async make() {
			const f = ftp!;
			const folder = join(f.user.home, `t-${randomBytes(4).toString('hex')}`);
			mkdirSync(folder);
			chownSync(folder, f.user.uid, f.user.gid);
			const config: FtpConfig = {
				type: 'ftp',
				host: f.host,
				port: f.explicit.port,
				username: f.user.name,
				password: f.user.password,
				tls: 'explicit',
				caPem: f.certPem,
				folder,
			};
			return { config, cleanup: () => rm(folder, { recursive: true, force: true }) };
		},
	},
	{
		name: 'Google Drive (emulator)',
		async make() {
			const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
			const clientEmail = 'backup@totvs-test.iam.gserviceaccount.com';
			const emulator = await startDriveEmulator({
				serviceAccount: { clientEmail, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
			});
			const config: GoogleDriveConfig = {
				type: 'google-drive',
				auth: {
					kind: 'serviceAccount',
					clientEmail,
					privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
				},
				rootFolderId: emulator.rootFolderId,
				apiBaseUrl: emulator.url,
				tokenUrl: emulator.tokenUrl,
				chunkBytes: 256 * 1024,
			};
			return { config, cleanup: () => emulator.stop() };
		},
	},
];

/** A small set with a real manifest (fake dump bytes): for retention histories. */
async function syntheticSet(
	root: string,
	type: BackupType,
	at: Date,
	base: string | null,
	parent: string | null,
): Promise<string> {
	const set = await BackupSetWriter.create(root, 'prod', type, 'database', at);
	const artifact = await set.writeArtifact('protheus.dump', 'pg_dump-custom', Readable.from([randomBytes(64)]));
	await set.commit(
		sampleManifest({
			backupId: set.backupId,
			type,
			baseBackupId: base,
			parentBackupId: parent,
			startedAt: at.toISOString(),
			finishedAt: at.toISOString(),
			artifacts: [artifact],
		}),
	);
	return set.folder;
}

for (const target of targets) {
	const suite = target.unavailable ? describe.skip : describe;
	if (target.unavailable) console.warn(`${target.name}: skipped: ${target.unavailable}`);

	suite(`set transfer: ${target.name}`, () => {
		let destination: Destination;
		let config: DestinationConfig;
		let cleanup: () => Promise<void>;
		const others: Destination[] = [];
		const open = () => openDestination(config);
		let lockConnection: Destination;
		beforeEach(async () => {
			({ config, cleanup } = await target.make());
			destination = open();
			// the lock on a connection of its own, as the node does
			lockConnection = open();
			others.push(lockConnection);
		});
		afterEach(async () => {
			await Promise.all([destination, ...others.splice(0)].map((d) => d?.close()));
			await cleanup();
		});

		it('uploads a set (artifacts, then manifest), lists it complete, and skips it when uploaded again', async () => {
			const result = await uploadSet(destination, realSetFolder, {
				lock: { ...lockSettings(), via: lockConnection },
				readBack: true,
			});
			expect(result).toMatchObject({
				remotePath: `prod/${realBackupId}`,
				verified: true,
				alreadyThere: false,
				destination: destination.describe(),
			});
			expect(result.files.map((f) => f.path).at(-1)).toBe('manifest.json');
			expect(result.bytes).toBeGreaterThan(0);

			const catalog = await listRemoteSets(destination);
			expect(catalog.sets.map((s) => [s.backupId, s.remoteStatus, s.bytes])).toEqual([
				[realBackupId, 'complete', result.bytes],
			]);
			expect(catalog.unfinished).toEqual([]);
			expect((await destination.list('prod')).map((e) => e.name)).not.toContain(LOCK_FILE); // released

			const again = await uploadSet(destination, realSetFolder, {
				lock: { ...lockSettings(), via: lockConnection },
				readBack: true,
			});
			expect(again.alreadyThere).toBe(true);
		});

		it('finishes an interrupted upload (artifacts there, no manifest) and never lists it before', async () => {
			const first = (await readSet(realSetFolder)).artifacts[0].path;
			await destination.createExclusive(`prod/${realBackupId}/${IN_PROGRESS_MARKER}`, '{}');
			await destination.put(join(realSetFolder, first), `prod/${realBackupId}/${first}`);
			const [artifact] = (await listRemoteSets(destination)).unfinished;
			expect(artifact).toMatchObject({ backupId: realBackupId });
			expect((await listRemoteSets(destination)).sets).toEqual([]);

			const result = await uploadSet(destination, realSetFolder, {
				lock: { ...lockSettings(), via: lockConnection },
				readBack: true,
			});
			expect(result.verified).toBe(true);
			const catalog = await listRemoteSets(destination, 'prod');
			expect(catalog.sets.map((s) => s.remoteStatus)).toEqual(['complete']);
			expect(catalog.unfinished).toEqual([]);
			// the marker goes once the manifest is there
			expect((await destination.list(`prod/${realBackupId}`)).map((e) => e.name)).not.toContain(IN_PROGRESS_MARKER);
		});

		it('never uploads a staged set whose artifact no longer matches its manifest', async () => {
			const copy = mkdtempSync(join(tmpdir(), 'totvs-damaged-'));
			try {
				cpSync(realSetFolder, copy, { recursive: true });
				const artifact = (await readSet(copy)).artifacts[0].path;
				const bytes = readFileSync(join(copy, artifact));
				bytes[Math.floor(bytes.length / 2)] ^= 0xff;
				writeFileSync(join(copy, artifact), bytes);
				await expect(
					uploadSet(destination, copy, { lock: { ...lockSettings(), via: lockConnection }, readBack: true }),
				).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
				const catalog = await listRemoteSets(destination);
				expect(catalog.sets).toEqual([]); // no manifest: never listed as a backup
			} finally {
				rmSync(copy, { recursive: true, force: true });
			}
		});

		it('reports a damaged remote set and refuses to call it uploaded', async () => {
			const { files } = await uploadSet(destination, realSetFolder, {
				lock: { ...lockSettings(), via: lockConnection },
				readBack: true,
			});
			const artifact = files.find((f) => f.path !== 'manifest.json')!;
			await destination.remove(`prod/${realBackupId}/${artifact.path}`);
			const catalog = await listRemoteSets(destination);
			expect(catalog.sets[0]).toMatchObject({ remoteStatus: 'damaged', problem: `${artifact.path}: missing` });
			await expect(
				uploadSet(destination, realSetFolder, { lock: { ...lockSettings(), via: lockConnection }, readBack: true }),
			).rejects.toThrow(/already complete on .* but its .* is missing there/);
		});

		it('downloads the latest set to staging and verifies it (pg_restore reads it)', async () => {
			await uploadSet(destination, realSetFolder, { lock: { ...lockSettings(), via: lockConnection }, readBack: true });
			const local = mkdtempSync(join(tmpdir(), 'totvs-download-'));
			try {
				const result = await downloadSet(destination, {
					backupId: 'latest',
					environment: 'prod',
					stagingFolder: local,
				});
				expect(result.folder).toBe(join(local, 'prod', realBackupId));
				expect(result.verification.ok).toBe(true);
				expect(result.verification.checks.map((c) => c.name)).toEqual(
					expect.arrayContaining(['manifest', 'artifacts']),
				);
				expect(result.downloadedBytes).toBe(result.bytes);
				// Again: already complete locally, nothing fetched, still verified.
				const again = await downloadSet(destination, {
					backupId: realBackupId,
					environment: 'prod',
					stagingFolder: local,
				});
				expect(again).toMatchObject({ downloadedBytes: 0, verification: { ok: true } });
				// A local copy damaged since is repaired by downloading again, not trusted.
				const artifact = result.manifest.artifacts[0];
				writeFileSync(join(result.folder, artifact.path), 'damaged');
				const repaired = await downloadSet(destination, {
					backupId: realBackupId,
					environment: 'prod',
					stagingFolder: local,
				});
				expect(repaired).toMatchObject({ downloadedBytes: artifact.bytes, verification: { ok: true } });
				await expect(
					downloadSet(destination, { backupId: 'prod-nope', environment: 'prod', stagingFolder: local }),
				).rejects.toThrow(/No complete backup set prod-nope/);
			} finally {
				rmSync(local, { recursive: true, force: true });
			}
		});

		it('prunes chain-safely under the lock; a dry run deletes nothing and says why', async () => {
			const local = mkdtempSync(join(tmpdir(), 'totvs-history-'));
			try {
				const day = (n: number) => new Date(Date.UTC(2026, 9, n, 2));
				const f1 = await syntheticSet(local, 'full', day(1), null, null);
				const id = (folder: string) => folder.split('/').at(-1)!;
				const d1 = await syntheticSet(local, 'differential', day(2), id(f1), id(f1));
				const i1 = await syntheticSet(local, 'incremental', day(3), id(f1), id(d1));
				const f2 = await syntheticSet(local, 'full', day(10), null, null);
				const i2 = await syntheticSet(local, 'incremental', day(11), id(f2), id(f2));
				for (const folder of [f1, d1, i1, f2, i2])
					await uploadSet(destination, folder, { lock: { ...lockSettings(), via: lockConnection }, readBack: true });
				// an interrupted upload of ours from long ago (our in-progress marker, no manifest)...
				await destination.put(join(f1, 'protheus.dump'), 'prod/prod-20261001T000000Z-full-db/protheus.dump');
				await destination.createExclusive(`prod/prod-20261001T000000Z-full-db/${IN_PROGRESS_MARKER}`, '{}');
				// ...and a folder that is not ours: reported, never deleted
				await destination.put(join(f1, 'protheus.dump'), 'prod/dba-scripts/keep.me');

				// keep the 2 newest: i2 and f2; i1 by the daily rule of its day? no: keepDaily 0
				const policy: RetentionPolicy = {
					keepLast: 2,
					keepDaily: 0,
					keepWeekly: 0,
					keepMonthly: 0,
					keepYearly: 0,
					minimumAgeDays: 0,
					unfinishedAfterHours: 0,
				};
				// an hour from now: the unfinished folder written just now is then stale (threshold 0 h)
				const now = new Date(Date.now() + 3_600_000);
				const dry = await pruneSets(destination, {
					environment: 'prod',
					policy,
					dryRun: true,
					lock: { ...lockSettings(), via: lockConnection },
					now,
				});
				expect(dry.deleted).toEqual([]);
				expect(dry.plan.sets.map((d) => [d.backupId, d.action, d.reasons.map((r) => r.rule).join('+')])).toEqual([
					[id(i2), 'keep', 'last'],
					[id(f2), 'keep', 'newest-verified-full+last+dependency'],
					[id(i1), 'delete', 'not-selected'],
					[id(d1), 'delete', 'not-selected'],
					[id(f1), 'delete', 'not-selected'],
				]);
				expect(dry.plan.unfinished).toMatchObject([
					{ backupId: 'prod-20261001T000000Z-full-db', action: 'delete', reason: { rule: 'unfinished-stale' } },
				]);
				expect((await listRemoteSets(destination)).sets).toHaveLength(5);

				// With keepLast 3, i1 is kept, and with it d1 and f1 (its chain).
				const chain = await pruneSets(destination, {
					environment: 'prod',
					policy: { ...policy, keepLast: 3 },
					dryRun: false,
					lock: { ...lockSettings(), via: lockConnection },
					now,
				});
				expect(chain.deleted).toEqual(['prod-20261001T000000Z-full-db']);
				expect((await listRemoteSets(destination)).sets.map((s) => s.backupId)).toEqual([f1, d1, i1, f2, i2].map(id));

				const real = await pruneSets(destination, {
					environment: 'prod',
					policy,
					dryRun: false,
					lock: { ...lockSettings(), via: lockConnection },
					now,
				});
				expect(real.deleted).toEqual([id(i1), id(d1), id(f1)]);
				const after = await listRemoteSets(destination);
				expect(after.sets.map((s) => s.backupId)).toEqual([id(f2), id(i2)]);
				expect(after.unfinished).toEqual([]);
				expect(real.ignored).toEqual([{ path: 'prod/dba-scripts', reason: expect.stringContaining('left untouched') }]);
				expect(
					(await destination.list('prod'))
						.filter((e) => e.isFolder)
						.map((e) => e.name)
						.sort(),
				).toEqual(['dba-scripts', id(f2), id(i2)]);
			} finally {
				rmSync(local, { recursive: true, force: true });
			}
		});

		it('refuses to upload or prune while another execution holds the lock, naming it', async () => {
			const other = open();
			others.push(other);
			const held = await EnvironmentLock.acquire(other, 'prod', owner('exec-other'), { purpose: 'upload' });
			try {
				const error = await uploadSet(destination, realSetFolder, {
					lock: { ...lockSettings(), via: lockConnection },
					readBack: true,
				}).catch((e: unknown) => e);
				expect(error).toBeInstanceOf(BackupError);
				expect(error).toMatchObject({ code: 'LOCKED', message: expect.stringContaining('execution exec-other') });
				const policy: RetentionPolicy = {
					keepLast: 1,
					keepDaily: 0,
					keepWeekly: 0,
					keepMonthly: 0,
					keepYearly: 0,
					minimumAgeDays: 0,
					unfinishedAfterHours: 0,
				};
				await expect(
					pruneSets(destination, { environment: 'prod', policy, dryRun: false, lock: lockSettings() }),
				).rejects.toMatchObject({ code: 'LOCKED' });
				expect((await listRemoteSets(destination)).sets).toEqual([]);
			} finally {
				await held.release();
			}
			expect(
				(
					await uploadSet(destination, realSetFolder, {
						lock: { ...lockSettings(), via: lockConnection },
						readBack: true,
					})
				).verified,
			).toBe(true);
		});

		it('takes over a stale lock, and the stale holder then finds it lost', async () => {
			let clock = Date.parse('2026-11-26T02:00:00Z');
			const now = () => new Date(clock);
			const other = open();
			others.push(other);
			const dead = await EnvironmentLock.acquire(other, 'prod', owner('exec-dead'), {
				purpose: 'upload',
				staleAfterMs: 60_000,
				renewEveryMs: 3_600_000,
				now,
			});
			await expect(
				EnvironmentLock.acquire(destination, 'prod', owner('exec-new'), {
					purpose: 'upload',
					staleAfterMs: 60_000,
					now,
				}),
			).rejects.toMatchObject({ code: 'LOCKED' });
			clock += 61_000;
			const taker = await EnvironmentLock.acquire(destination, 'prod', owner('exec-new'), {
				purpose: 'upload',
				staleAfterMs: 60_000,
				now,
			});
			expect(taker.holder.owner.executionId).toBe('exec-new');
			await expect(dead.assertHeld()).rejects.toMatchObject({
				code: 'LOCK_LOST',
				message: expect.stringContaining('execution exec-new'),
			});
			await expect(dead.renew()).rejects.toMatchObject({ code: 'LOCK_LOST' });
			await dead.release(); // must not remove the taker's lock
			await taker.assertHeld();
			await taker.release();
			expect(await destination.stat(lockPath('prod'))).toBeNull();
			// no takeover marker left behind
			expect((await destination.list('prod')).map((e) => e.name).filter((n) => n.includes('takeover'))).toEqual([]);
		});

		it('lets exactly one of several concurrent processes in at a time (as n8n queue-mode workers)', async () => {
			const startAt = Date.now() + 6000;
			const contenders = Array.from({ length: 5 }, (_, i) =>
				execFileAsync(TSX, [CONTENDER], {
					env: {
						...process.env,
						TOTVS_CONTENDER: JSON.stringify({ destination: config, id: `worker-${i}`, holdMs: 300, startAt }),
					},
					timeout: 180_000,
				}),
			);
			const reports = (await Promise.all(contenders)).map(
				(r) =>
					JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
						id: string;
						alone: boolean;
						enteredAt: number;
						leftAt: number;
					},
			);
			expect(reports.map((r) => r.id).sort()).toEqual(['worker-0', 'worker-1', 'worker-2', 'worker-3', 'worker-4']);
			expect(reports.every((r) => r.alone)).toBe(true);
			// and their time inside never overlapped
			const spans = reports.sort((a, b) => a.enteredAt - b.enteredAt);
			for (let i = 1; i < spans.length; i++) expect(spans[i].enteredAt).toBeGreaterThanOrEqual(spans[i - 1].leftAt);
			expect(await destination.stat(lockPath('prod'))).toBeNull();
		});
	});
}

it('stale-lock takeover: several processes find the same dead lock, and still only one is inside at a time', async () => {
	const folder = mkdtempSync(join(tmpdir(), 'totvs-race-'));
	try {
		const config: DestinationConfig = { type: 'local', folder };
		// A lock left by an execution that died long ago.
		const stale = {
			format: 1,
			environment: 'prod',
			owner: { hostname: 'gone', pid: 1 },
			token: 'dead',
			purpose: 'upload',
			acquiredAt: '2020-01-01T00:00:00Z',
			renewedAt: '2020-01-01T00:00:00Z',
			staleAfterMs: 1000,
		};
		expect(await openDestination(config).createExclusive(lockPath('prod'), JSON.stringify(stale))).toBe(true);
		const startAt = Date.now() + 6000;
		const reports = await Promise.all(
			Array.from({ length: 6 }, (_, i) =>
				execFileAsync(TSX, [CONTENDER], {
					env: {
						...process.env,
						TOTVS_CONTENDER: JSON.stringify({ destination: config, id: `taker-${i}`, holdMs: 200, startAt }),
					},
					timeout: 180_000,
				}).then(
					(r) =>
						JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
							id: string;
							alone: boolean;
							enteredAt: number;
							leftAt: number;
						},
				),
			),
		);
		expect(reports.map((r) => r.alone)).toEqual(Array(6).fill(true));
		const spans = reports.sort((a, b) => a.enteredAt - b.enteredAt);
		for (let i = 1; i < spans.length; i++) expect(spans[i].enteredAt).toBeGreaterThanOrEqual(spans[i - 1].leftAt);
		expect(readdirSync(join(folder, 'prod'))).toEqual([]); // lock released, no takeover marker or temp file left
		expect(existsSync(join(folder, 'prod', LOCK_FILE))).toBe(false);
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
});

/** The local destination with a random pause around every call: many more interleavings of racing lock operations. */
function jittery(destination: Destination): Destination {
	const pause = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
	return new Proxy(destination, {
		get(target, property, receiver) {
			const value = Reflect.get(target, property, receiver);
			if (typeof value !== 'function') return value;
			return async (...args: unknown[]) => {
				await pause();
				const result = await value.apply(target, args);
				await pause();
				return result;
			};
		},
	});
}

it('stale-lock takeover under random interleavings: never two holders (30 races of 8 takers)', async () => {
	const folder = mkdtempSync(join(tmpdir(), 'totvs-jitter-'));
	try {
		for (let race = 0; race < 30; race++) {
			const stale = {
				format: 1,
				environment: 'prod',
				owner: { hostname: 'gone', pid: 1 },
				token: `dead-${race}`,
				purpose: 'upload',
				acquiredAt: '2020-01-01T00:00:00Z',
				renewedAt: '2020-01-01T00:00:00Z',
				staleAfterMs: 1000,
			};
			const d = () => jittery(new LocalFolderDestination({ type: 'local', folder }));
			expect(await d().createExclusive(lockPath('prod'), JSON.stringify(stale))).toBe(true);
			const results = await Promise.allSettled(
				Array.from({ length: 8 }, (_, i) =>
					EnvironmentLock.acquire(d(), 'prod', currentOwner(`t${i}`), { purpose: 'prune' }),
				),
			);
			const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
			for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'LOCKED' });
			// exactly one acquired it, and still holds it
			expect(won.map((lock) => lock.holder.owner.executionId)).toHaveLength(1);
			await won[0].assertHeld();
			for (const lock of won) await lock.release();
			expect(readdirSync(join(folder, 'prod'))).toEqual([]);
		}
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
});
