/**
 * Issue 12, item 6, for SQL Server: a sealed set's .bak.age is decrypted into the shared folder
 * only while SQL Server must read it (HEADERONLY, FILELISTONLY, RESTORE of that one set), into a
 * file created 0600 with an exclusive create, and removed afterwards: on success, on a failed
 * RESTORE and on a cancel no plaintext is left anywhere. The signature is checked before any
 * statement; no identity or the wrong one names the fingerprints the set was sealed for.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { BackupResult } from '../../../core/backup';
import { parseSetKeys, withSetKeys, type SetKeys } from '../../../core/backup-set/set-keys';
import { LocalFolderDestination } from '../../../core/destinations';
import { silentLogger } from '../../../core/logger';
import { fetchRemoteSqlServerChain } from '../../../core/restore-test/remote/sqlserver';
import { generateAgeIdentity } from '../../../core/sealing';
import {
	runSqlServerSetRestore,
	runSqlServerSetRestoreTest,
	type SqlServerSetRestoreTestRequest,
} from '../../../core/sources/sqlserver/restore/set-restore';
import { uploadSet } from '../../../core/upload/set-transfer';
import { readQuotedString, sqlError } from '../sources/sqlserver/fake-sql-server';
import { makeTestbed, type Testbed } from '../sources/sqlserver/testbed';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
const owner = generateAgeIdentity();
const escrow = generateAgeIdentity();
const stranger = generateAgeIdentity();
const pem = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const signingKey = pem();
const otherSigningKey = pem();
const backupHost = (key = signingKey) =>
	parseSetKeys(
		{ recipients: `${owner.recipient}\n${escrow.recipient}`, signingKey: key },
		{ encrypt: true, sign: true, allowUnsigned: true },
	);
const trustedPem = () => backupHost().signingKey!.publicKey.pem;
/** The restore host: the identity and the trusted public key, no signing key. */
const restoreHost = (identity = owner.identity) => parseSetKeys({ identity, trustedKeys: trustedPem() });

let bed: Testbed;
beforeEach(async () => {
	bed = await makeTestbed(SERVER_FOLDER);
});
afterEach(() => bed.dispose());

/** Every file under the testbed (share, sets, anything the restore wrote), recursively. */
async function allFiles(folder = bed.root): Promise<string[]> {
	const out: string[] = [];
	for (const entry of await readdir(folder, { withFileTypes: true })) {
		const path = join(folder, entry.name);
		if (entry.isDirectory()) out.push(...(await allFiles(path)));
		else out.push(path);
	}
	return out;
}

/** Files holding a backup's plaintext (the fake's backups start with "TAPE"); must be none after a restore. */
async function plaintextFiles(): Promise<string[]> {
	const found: string[] = [];
	for (const file of await allFiles()) {
		if ((await readFile(file)).subarray(0, 4).toString() === 'TAPE') found.push(file);
	}
	return found;
}

/** The file SQL Server is asked to read by a statement (RESTORE … FROM DISK = N'…'), as n8n sees it. */
const localFileOf = (sql: string) => bed.fake.toLocal(readQuotedString(sql.slice(sql.indexOf("DISK = N'") + 7)).value);

/** Records, at each statement that reads a backup file, that file's mode and the plaintext files present. */
function watchReads() {
	const seen: Array<{ statement: string; file: string; mode: number; plaintexts: string[] }> = [];
	const watch = () =>
		bed.fake.beforeNext(/^RESTORE (HEADERONLY|FILELISTONLY|DATABASE|LOG) /, (sql) => {
			if (!sql.includes("DISK = N'")) return watch(); // WITH RECOVERY reads no file
			const file = localFileOf(sql);
			// Synchronous on purpose: the hook runs before the fake answers.
			const mode = statSync(file).mode & 0o777;
			const plaintexts = listPlaintextSync(bed.root);
			seen.push({ statement: sql.split(' FROM ')[0], file, mode, plaintexts });
			watch();
		});
	watch();
	return seen;
}

function listPlaintextSync(folder: string): string[] {
	const out: string[] = [];
	for (const entry of readdirSync(folder, { withFileTypes: true })) {
		const path = join(folder, entry.name);
		if (entry.isDirectory()) out.push(...listPlaintextSync(path));
		else if (readFileSync(path).subarray(0, 4).toString() === 'TAPE') out.push(path);
	}
	return out;
}

function restoreTest(
	set: BackupResult,
	keys: SetKeys | undefined,
	overrides: Partial<SqlServerSetRestoreTestRequest> = {},
) {
	return withSetKeys(keys, () =>
		runSqlServerSetRestoreTest({
			folder: set.folder,
			connect: async () => bed.fake.runner(),
			sharedFolder: () => ({ serverFolder: SERVER_FOLDER, localFolder: bed.share }),
			keepOnFailure: false,
			log: silentLogger,
			...overrides,
		}),
	);
}

/**
 * A sealed full and two logs. The backup host holds the identity here: a log's chain is planned
 * from the LSNs of the sets before it, which a sealed set keeps in its sealed part (a backup host
 * with public keys only cannot plan it: see the report of issue 12).
 */
function realRestore(set: BackupResult, keys: SetKeys | undefined) {
	return withSetKeys(keys, () =>
		runSqlServerSetRestore({
			folder: set.folder,
			connect: async () => bed.fake.runner(),
			sharedFolder: () => ({ serverFolder: SERVER_FOLDER, localFolder: bed.share }),
			target: 'PROTHEUS_RESTORED',
			replaceExisting: false,
			allowSourceDatabase: false,
			log: silentLogger,
		}),
	);
}

async function sealedChain() {
	const keys = { ...backupHost(), identities: restoreHost().identities };
	const full = await withSetKeys(keys, () => bed.backup('full'));
	const log1 = await withSetKeys(keys, () => bed.backup('log'));
	const log2 = await withSetKeys(keys, () => bed.backup('log'));
	return { full, log1, log2 };
}

describe('restore of a sealed SQL Server set', () => {
	it('Restore Test decrypts each .bak only while SQL Server reads it (0600, in the share) and leaves no plaintext', async () => {
		const { log2 } = await sealedChain();
		expect(await plaintextFiles()).toEqual([]);
		const reads = watchReads();
		const report = await restoreTest(log2, restoreHost());
		expect(report.checks.filter((c) => !c.ok)).toEqual([]);
		expect(report.passed).toBe(true);
		expect(report.checks.map((c) => c.name)).toEqual(
			expect.arrayContaining(['manifest', 'artifacts', 'restore', 'dbcc', 'cleanup']),
		);
		// HEADERONLY + FILELISTONLY + RESTORE of the full, HEADERONLY + RESTORE of each log.
		expect(reads.map((r) => r.statement)).toEqual([
			'RESTORE HEADERONLY',
			'RESTORE FILELISTONLY',
			expect.stringMatching(/^RESTORE DATABASE /),
			'RESTORE HEADERONLY',
			expect.stringMatching(/^RESTORE LOG /),
			'RESTORE HEADERONLY',
			expect.stringMatching(/^RESTORE LOG /),
		]);
		for (const read of reads) {
			// SQL Server reads a plaintext file in the shared folder, private to n8n's user, never the set's age file
			expect(read.file.startsWith(bed.share)).toBe(true);
			expect(read.file.endsWith('.age')).toBe(false);
			expect(read.mode).toBe(0o600);
			// only the one file being read is in the clear
			expect(read.plaintexts).toEqual([read.file]);
		}
		// one decrypted file per set of the chain
		expect(new Set(reads.map((r) => r.file)).size).toBe(3);
		expect(await plaintextFiles()).toEqual([]);
		expect(bed.fake.droppedDatabases).toEqual([report.database]);
	});

	it('a decrypted file a killed n8n left (its owner gone) is removed by the next sealed restore; a live one is kept', async () => {
		const full = await withSetKeys(backupHost(), () => bed.backup('full'));
		const dead = await new Promise<number>((resolve) => {
			const child = spawn(process.execPath, ['-e', '']);
			child.once('exit', () => resolve(child.pid!));
		});
		const plant = async (name: string, pid: number) => {
			const folder = join(bed.share, name);
			await mkdir(folder, { mode: 0o700 });
			await writeFile(join(folder, 'owner'), `${pid} ${hostname()} \n`, { mode: 0o600 });
			await writeFile(join(folder, 'PROTHEUS_FULL.bak'), 'TAPE left in the clear', { mode: 0o600 });
		};
		await plant('.totvs-decrypted-killed', dead);
		await plant('.totvs-decrypted-running', process.pid);
		const report = await restoreTest(full, restoreHost());
		expect(report.passed).toBe(true);
		expect(await plaintextFiles()).toEqual([join(bed.share, '.totvs-decrypted-running', 'PROTHEUS_FULL.bak')]);
	});

	it('the escrow identity opens the set too', async () => {
		const full = await withSetKeys(backupHost(), () => bed.backup('full'));
		const report = await restoreTest(full, restoreHost(escrow.identity));
		expect(report.passed).toBe(true);
		expect(await plaintextFiles()).toEqual([]);
	});

	it('a failed RESTORE: the check fails, the scratch database is dropped and no plaintext is left', async () => {
		const { log2 } = await sealedChain();
		bed.fake.failOn(
			/^RESTORE LOG /,
			sqlError(4305, 'The log in this backup set begins at LSN 1, which is too recent.'),
		);
		const report = await restoreTest(log2, restoreHost());
		expect(report.passed).toBe(false);
		expect(report.checks.find((c) => c.name === 'restore')).toMatchObject({ ok: false });
		expect(await plaintextFiles()).toEqual([]);
	});

	it('a lost connection mid-chain: the error goes on and no plaintext is left', async () => {
		const { log2 } = await sealedChain();
		bed.fake.crashOn(/^RESTORE LOG /, new Error('Connection lost - read ECONNRESET'));
		await expect(restoreTest(log2, restoreHost())).rejects.toThrow(/ECONNRESET/);
		expect(await plaintextFiles()).toEqual([]);
	});

	it('a cancel during the RESTORE: cancelled, and no plaintext is left', async () => {
		const { log2 } = await sealedChain();
		const controller = new AbortController();
		bed.fake.beforeNext(/^RESTORE LOG /, () => controller.abort());
		bed.fake.crashOn(/^RESTORE LOG /, Object.assign(new Error('Canceled.'), { code: 'ECANCEL' }));
		await expect(restoreTest(log2, restoreHost(), { signal: controller.signal })).rejects.toThrow(/cancel/i);
		expect(await plaintextFiles()).toEqual([]);
	});

	it('a cancel before a set is decrypted: nothing is decrypted and no statement reads a file', async () => {
		const full = await withSetKeys(backupHost(), () => bed.backup('full'));
		const controller = new AbortController();
		bed.fake.beforeNext(/^SELECT DB_ID\(@name\)/, () => controller.abort());
		const reads = watchReads();
		await expect(restoreTest(full, restoreHost(), { signal: controller.signal })).rejects.toThrow(/cancel/i);
		expect(reads).toEqual([]);
		expect(await plaintextFiles()).toEqual([]);
	});

	it('no identity: refused before any statement, naming the fingerprints the set was sealed for', async () => {
		const full = await withSetKeys(backupHost(), () => bed.backup('full'));
		const before = bed.fake.statements.length;
		await expect(restoreTest(full, parseSetKeys({ trustedKeys: trustedPem() }))).rejects.toMatchObject({
			message: expect.stringContaining(`sealed for the key(s) ${owner.fingerprint}, ${escrow.fingerprint}`),
		});
		expect(bed.fake.statements.length).toBe(before);
		expect(await plaintextFiles()).toEqual([]);
	});

	it('the wrong identity: not restored, the manifest check names the fingerprints; no statement', async () => {
		const full = await withSetKeys(backupHost(), () => bed.backup('full'));
		const before = bed.fake.statements.length;
		const report = await restoreTest(full, restoreHost(stranger.identity));
		expect(report.passed).toBe(false);
		expect(report.checks[0]).toMatchObject({ name: 'manifest', ok: false });
		expect(report.checks[0].message).toContain(owner.fingerprint);
		expect(bed.fake.statements.length).toBe(before);
		expect(await plaintextFiles()).toEqual([]);
	});

	it('a set signed by another key: refused on its signature before anything is decrypted or sent', async () => {
		const full = await withSetKeys(backupHost(otherSigningKey), () => bed.backup('full'));
		const before = bed.fake.statements.length;
		const report = await restoreTest(full, restoreHost());
		expect(report.passed).toBe(false);
		expect(report.checks[0]).toMatchObject({
			name: 'manifest',
			ok: false,
			message: expect.stringMatching(/is signed by key \w+, which is not a trusted key/),
		});
		expect(bed.fake.statements.length).toBe(before);
		await expect(realRestore(full, restoreHost())).rejects.toThrow(/which is not a trusted key/);
		expect(bed.fake.statements.length).toBe(before);
	});

	it('Restore (real recovery) of a sealed chain: restored into the target, no plaintext left', async () => {
		const { log2 } = await sealedChain();
		const reads = watchReads();
		const report = await realRestore(log2, restoreHost());
		expect(report.checks.filter((c) => !c.ok)).toEqual([]);
		expect(report).toMatchObject({ passed: true, database: 'PROTHEUS_RESTORED', replaced: false });
		expect(reads.every((r) => r.mode === 0o600 && r.plaintexts.length === 1)).toBe(true);
		expect(await plaintextFiles()).toEqual([]);
	});

	it('Restore without an identity: refused before any statement, naming the fingerprints', async () => {
		const full = await withSetKeys(backupHost(), () => bed.backup('full'));
		const before = bed.fake.statements.length;
		await expect(realRestore(full, parseSetKeys({ trustedKeys: trustedPem() }))).rejects.toThrow(
			new RegExp(`sealed for the key\\(s\\) ${owner.fingerprint}`),
		);
		expect(bed.fake.statements.length).toBe(before);
	});

	it('Restore: a failed RESTORE leaves no plaintext and the target untouched', async () => {
		const full = await withSetKeys(backupHost(), () => bed.backup('full'));
		bed.fake.failOn(/^RESTORE DATABASE /, sqlError(3183, 'RESTORE detected an error on page (1:12).'));
		const report = await realRestore(full, restoreHost());
		expect(report.passed).toBe(false);
		expect(bed.fake.renames).toEqual([]);
		expect(await plaintextFiles()).toEqual([]);
		expect((await stat(bed.share)).isDirectory()).toBe(true);
	});
});

describe('restore of a sealed SQL Server chain from a destination', () => {
	const lock = { owner: { hostname: hostname(), pid: process.pid, executionId: 'test' }, options: { waitMs: 0 } };
	let offsite: LocalFolderDestination;

	/** A sealed full, a log and a differential, uploaded; nothing of them left locally. */
	async function uploadedSealedChain() {
		const keys = { ...backupHost(), identities: restoreHost().identities };
		const dumps = join(bed.root, 'dumps');
		await mkdir(dumps);
		const folder = join(bed.root, 'offsite');
		await mkdir(folder);
		offsite = new LocalFolderDestination({ type: 'local', folder });
		const sets: BackupResult[] = [];
		for (const type of ['full', 'log', 'differential', 'log'] as const) {
			const set = await withSetKeys(keys, () => bed.backup(type, {}, dumps));
			await withSetKeys(keys, () => uploadSet(offsite, set.folder, { lock }));
			sets.push(set);
		}
		await rm(dumps, { recursive: true, force: true });
		return sets;
	}

	const fetchWith = (keys: SetKeys) =>
		withSetKeys(keys, () =>
			fetchRemoteSqlServerChain(offsite, {
				environment: 'prod',
				sharedFolder: () => ({ serverFolder: SERVER_FOLDER, localFolder: bed.share }),
				logger: silentLogger,
			}),
		);

	it('plans the chain from the sealed parts, downloads it, restores it decrypted on the fly; no plaintext left', async () => {
		const [full, , diff, log] = await uploadedSealedChain();
		const fetched = await fetchWith(restoreHost());
		expect(fetched.chain).toEqual([full.manifest.backupId, diff.manifest.backupId, log.manifest.backupId]);
		const reads = watchReads();
		const report = await withSetKeys(restoreHost(), () =>
			runSqlServerSetRestoreTest({
				folder: fetched.folder,
				connect: async () => bed.fake.runner(),
				sharedFolder: () => fetched.shared,
				keepOnFailure: false,
				log: silentLogger,
			}),
		).finally(() => fetched.finish(false));
		expect(report.checks.filter((c) => !c.ok)).toEqual([]);
		expect(reads.length).toBeGreaterThan(0);
		expect(reads.every((r) => r.mode === 0o600 && r.plaintexts.length === 1)).toBe(true);
		expect(await plaintextFiles()).toEqual([]);
		expect(await readdir(bed.share)).toEqual([]);
	});

	it('no identity: refused before anything is downloaded, naming the fingerprints', async () => {
		await uploadedSealedChain();
		await expect(fetchWith(parseSetKeys({ trustedKeys: trustedPem() }))).rejects.toThrow(
			new RegExp(`sealed for the key\\(s\\) ${owner.fingerprint}, ${escrow.fingerprint}`),
		);
		expect(await readdir(bed.share)).toEqual([]);
	});

	it('the wrong identity: refused before anything is downloaded, naming the fingerprints', async () => {
		await uploadedSealedChain();
		await expect(fetchWith(restoreHost(stranger.identity))).rejects.toThrow(new RegExp(owner.fingerprint));
		expect(await readdir(bed.share)).toEqual([]);
	});
});

describe('a sealed differential or log on a backup host with public keys only', () => {
	it('is refused before BACKUP runs, naming the set, the fingerprints and what to do (was a TypeError)', async () => {
		await withSetKeys(backupHost(), () => bed.backup('full'));
		const before = bed.fake.statements.length;
		for (const type of ['log', 'differential'] as const) {
			await expect(withSetKeys(backupHost(), () => bed.backup(type))).rejects.toMatchObject({
				message: expect.stringMatching(
					new RegExp(
						`^Backup set prod-\\S+-full-db is encrypted and its LSNs, which a restore chain or a differential or log backup builds on, are in its sealed part: it needs the private key of ${owner.fingerprint}, ${escrow.fingerprint}`,
					),
				),
				hint: expect.stringMatching(/Identity .* Or make a full backup/),
			});
		}
		expect(bed.fake.statements.slice(before).filter((s) => s.startsWith('BACKUP'))).toEqual([]);
	});
});
