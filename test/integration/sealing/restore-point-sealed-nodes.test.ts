/**
 * Sealed restore points through the nodes inside n8n's real engine, on the real PostgreSQL
 * server: TOTVS Dump "Database + Files" with Encrypt and Sign (the backup host's credential:
 * public keys and the signing key) seals both halves; TOTVS Verify checks each with public keys
 * only; TOTVS Restore Test "Test Restore Point" from a backups folder and from a destination, and
 * TOTVS Restore "Restore Point", with the restore host's credential (identity, trusted key).
 * Without the identity the restore point is refused before anything is restored, naming the
 * fingerprints. The halves' own refusals hold for the restore point: -Fd, and a sealed files
 * incremental without the identity, both before anything is written.
 */
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { parseSetKeys, type SetKeysText } from '../../../core/backup-set/set-keys';
import { SCRATCH_PREFIX } from '../../../core/restore-shared/prefixes';
import { openDestination } from '../../../core/destinations';
import { listRestoreRecords } from '../../../core/restore-record';
import { generateAgeIdentity } from '../../../core/sealing';
import { TotvsBackupKeys } from '../../../credentials/TotvsBackupKeys.credentials';
import { TotvsPostgres } from '../../../credentials/TotvsPostgres.credentials';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsRestore } from '../../../nodes/TotvsRestore/TotvsRestore.node';
import { TotvsRestoreTest } from '../../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { TotvsVerify } from '../../../nodes/TotvsVerify/TotvsVerify.node';
import { ACCENTED_CUSTOMER_NAMES, createProtheusDatabase, dropDatabase } from '../../../support/fixtures/protheus-db';
import { createProtheusTree, type ProtheusTree } from '../../../support/fixtures/protheus-tree';
import { MANUAL_TRIGGER_TYPE, PACKAGE_NAME, packageNodeTypes, runWorkflow } from '../../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../../support/shared-postgres';
import { credentialFor, DUMP_TYPE, VERIFY_TYPE } from '../../../support/totvs-workflow';

const RESTORE_TEST_TYPE = `${PACKAGE_NAME}.totvsRestoreTest`;
const RESTORE_TYPE = `${PACKAGE_NAME}.totvsRestore`;
const ENV = 'sealedrp';
/** A file of the tree whose name and content must not be readable on the destination. */
const SECRET_FILE = 'relatorio-clientes-sigiloso.csv';
const TARGET_DB = 'totvs_restored_sealedrp';

const server = sharedPostgres();
const owner = generateAgeIdentity();
const stranger = generateAgeIdentity();
const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const signingPublic = parseSetKeys({ signingKey }).signingKey!.publicKey.pem;
const backupHost: SetKeysText = { recipients: owner.recipient, signingKey };
const restoreHost: SetKeysText = { identity: owner.identity, trustedKeys: signingPublic };
const publicOnly: SetKeysText = { trustedKeys: signingPublic };

let database: string;
let work: string;
let tree: ProtheusTree;
let staging: string;
let offsite: string;
let dumped: IDataObject[];

/** One node after a manual trigger, with the PostgreSQL credential (`db`) and the backup keys. */
async function run(type: string, parameters: INodeParameters, keys: SetKeysText, db = 'postgres') {
	const name = type.split('.').pop()!;
	const result = await runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE, parameters: {} },
				{
					name,
					type,
					parameters,
					continueOnFail: true,
					credentials: {
						totvsPostgres: { id: 'pg', name: 'PostgreSQL' },
						totvsBackupKeys: { id: 'keys', name: 'Backup keys' },
					},
				},
			],
			connections: { Start: { main: [[{ node: name, type: 'main', index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsVerify(), new TotvsRestoreTest(), new TotvsRestore()]),
			credentialTypes: [new TotvsPostgres(), new TotvsBackupKeys()],
			credentials: {
				pg: { type: 'totvsPostgres', name: 'PostgreSQL', data: credentialFor(server, db) },
				keys: { type: 'totvsBackupKeys', name: 'Backup keys', data: { ...keys } },
			},
		},
	);
	expect(result.error).toBeUndefined();
	return result.jsonOf(name);
}

const dump = (parameters: INodeParameters, keys: SetKeysText = backupHost, folder = staging) =>
	run(
		DUMP_TYPE,
		{
			source: 'postgresAndFiles',
			environment: ENV,
			stagingFolder: folder,
			encryptAndSign: true,
			folders: `${tree.protheusData}\n${tree.apo}`,
			filesBackupType: 'full',
			// No compression: a name in the clear would be found byte for byte.
			options: { compression: 'none' },
			filesOptions: { protheusDefaults: false, compression: 'none' },
			...parameters,
		},
		keys,
		database,
	);

/** Test Restore Point of the latest restore point in the staging folder. */
const restoreTestPoint = (keys: SetKeysText, parameters: INodeParameters = {}) =>
	run(
		RESTORE_TEST_TYPE,
		{
			operation: 'restorePoint',
			restoreServer: 'postgres',
			setSource: 'folder',
			backupsFolder: staging,
			environment: ENV,
			pick: 'latest',
			useBackupKeys: true,
			options: { freshnessDays: 0, scratchFolder: mkdtempSync(join(work, 'scratch-')) },
			...parameters,
		},
		keys,
	);

interface Check {
	name: string;
	ok: boolean;
	notRun?: boolean;
	message: string;
}

function filesUnder(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
		e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
	);
}

const setsIn = (folder: string) => (existsSync(join(folder, ENV)) ? readdirSync(join(folder, ENV)).sort() : []);

const scratchDatabases = async () =>
	(await server.admin<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE '${SCRATCH_PREFIX}%'`))
		.map((r) => r.datname)
		.filter((n) => n.includes(ENV));

beforeAll(async () => {
	database = uniqueName('protheus_sealedrp');
	await createProtheusDatabase(server, { name: database, scale: 30 });
	work = mkdtempSync(join(tmpdir(), 'totvs-sealed-rp-'));
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 30, rpoBytes: 64 << 10, tables: 2 });
	// A customer list in the Protheus tree: its name and content must be sealed too.
	writeFileSync(join(tree.protheusData, SECRET_FILE), `${ACCENTED_CUSTOMER_NAMES.slice(0, 5).join('\n')}\n`);
	staging = join(work, 'staging');
	offsite = join(work, 'offsite');
	mkdirSync(staging);
	dumped = await dump({});
	// A local-folder destination holds sets in the staging layout: <environment>/<backupId>/.
	for (const item of dumped)
		cpSync(item.location as string, join(offsite, ENV, item.backupId as string), { recursive: true });
}, 300_000);
afterAll(async () => {
	await dropDatabase(server, database);
	await dropDatabase(server, TARGET_DB).catch(() => undefined);
	rmSync(work, { recursive: true, force: true });
});

describe('a sealed restore point', () => {
	it('TOTVS Dump (Database + Files, Encrypt and Sign) seals both halves: no customer name or file name in the clear', () => {
		expect(dumped.map((d) => [d.component, d.status])).toEqual([
			['database', 'ok'],
			['files', 'ok'],
		]);
		expect(dumped[1].restorePointId).toBe(dumped[0].restorePointId);
		expect(readdirSync(dumped[0].location as string).sort()).toEqual([
			'manifest.json',
			'manifest.json.sig',
			'manifest.sealed.json.age',
			`${database}.dump.age`,
		]);
		expect(readdirSync(dumped[1].location as string).sort()).toEqual([
			'files.tar.age',
			'manifest.json',
			'manifest.json.sig',
			'manifest.sealed.json.age',
		]);
		const files = filesUnder(staging);
		expect(files).toHaveLength(8);
		for (const file of files) {
			const content = readFileSync(file);
			for (const text of [...ACCENTED_CUSTOMER_NAMES.slice(0, 5), SECRET_FILE])
				expect([
					file,
					text,
					content.includes(Buffer.from(text, 'utf8')),
					content.includes(Buffer.from(text, 'latin1')),
				]).toEqual([file, text, false, false]);
			if (file.endsWith('.age')) expect(content.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
		}
		for (const item of dumped) {
			const manifest = JSON.parse(readFileSync(join(item.location as string, 'manifest.json'), 'utf8'));
			expect(manifest).toMatchObject({ restorePointId: dumped[0].restorePointId, inventory: null });
			expect(manifest.encryption.recipients).toEqual([{ fingerprint: expect.any(String) }]);
		}
	});

	it('TOTVS Verify checks each half with public keys only', async () => {
		for (const item of dumped) {
			const [verified] = await run(
				VERIFY_TYPE,
				{ setFolder: item.location as string, useBackupKeys: true },
				publicOnly,
			);
			const verification = verified.verification as { ok: boolean; checks: Check[] };
			expect([item.component, verified.status, verification.checks.filter((c) => !c.ok && !c.notRun)]).toEqual([
				item.component,
				'ok',
				[],
			]);
		}
	});

	it('TOTVS Verify with the identity decrypts each half and checks its plaintext', async () => {
		for (const item of dumped) {
			const [verified] = await run(
				VERIFY_TYPE,
				{ setFolder: item.location as string, useBackupKeys: true },
				restoreHost,
			);
			const checks = (verified.verification as { checks: Check[] }).checks;
			expect([item.component, verified.status, checks.filter((c) => !c.ok || c.notRun)]).toEqual([
				item.component,
				'ok',
				[],
			]);
		}
	});

	it('Test Restore Point of the input item (a set TOTVS Dump made) passes with the identity, is refused without', async () => {
		const ofItem = {
			setSource: 'item',
			setFolder: dumped[0].location as string,
			restorePointId: dumped[0].restorePointId as string,
		};
		const [item] = await restoreTestPoint(restoreHost, ofItem);
		expect(item).toMatchObject({
			status: 'ok',
			restorePointId: dumped[0].restorePointId,
			restoreTest: { passed: true },
		});
		const [refused] = await restoreTestPoint({ ...restoreHost, identity: stranger.identity }, ofItem);
		expect(refused.status).toBe('failed');
		expect((refused.error as { message: string }).message).toContain(owner.fingerprint);
	});

	it('Test Restore Point from a backups folder passes with the identity', async () => {
		const [item] = await restoreTestPoint(restoreHost);
		const test = item.restoreTest as { passed: boolean; checks: Check[] };
		expect(test.checks.filter((c) => !c.ok && !c.notRun)).toEqual([]);
		expect(item).toMatchObject({ status: 'ok', restorePointId: dumped[0].restorePointId });
		expect(test.passed).toBe(true);
		expect(test.checks.map((c) => c.name)).toEqual(
			expect.arrayContaining(['restore point', 'both restored', 'database: tables', 'files: tree']),
		);
		expect(await scratchDatabases()).toEqual([]);
	});

	it('without the identity (or with another one) it is refused before anything is restored, naming the fingerprints', async () => {
		for (const keys of [publicOnly, { ...restoreHost, identity: stranger.identity }]) {
			const scratch = mkdtempSync(join(work, 'scratch-'));
			const [item] = await restoreTestPoint(keys, {
				options: { freshnessDays: 0, scratchFolder: scratch },
			});
			expect(item.status).toBe('failed');
			const error = item.error as { message: string; description: string };
			expect(error.message).toContain(owner.fingerprint);
			expect((item.restoreTest as { passed: boolean }).passed).toBe(false);
			expect(readdirSync(scratch)).toEqual([]);
			expect(await scratchDatabases()).toEqual([]);
		}
	});

	it('Test Restore Point from a destination: refused without the identity, passes with it', async () => {
		const fromDestination = (keys: SetKeysText, scratch: string) =>
			run(
				RESTORE_TEST_TYPE,
				{
					operation: 'restorePoint',
					restoreServer: 'postgres',
					setSource: 'destination',
					destination: 'local',
					localFolder: offsite,
					environment: ENV,
					pick: 'latest',
					stagingFolder: mkdtempSync(join(work, 'download-')),
					useBackupKeys: true,
					options: { freshnessDays: 0, scratchFolder: scratch },
				},
				keys,
			);
		for (const keys of [publicOnly, { ...restoreHost, identity: stranger.identity }]) {
			const scratch = mkdtempSync(join(work, 'scratch-'));
			const [refused] = await fromDestination(keys, scratch);
			expect(refused.status).toBe('failed');
			expect((refused.error as { message: string }).message).toContain(owner.fingerprint);
			expect(readdirSync(scratch)).toEqual([]);
			expect(await scratchDatabases()).toEqual([]);
		}
		const [item] = await fromDestination(restoreHost, mkdtempSync(join(work, 'scratch-')));
		const test = item.restoreTest as { passed: boolean; checks: Check[] };
		expect(test.checks.filter((c) => !c.ok && !c.notRun)).toEqual([]);
		expect(item.status).toBe('ok');
		expect(test.passed).toBe(true);
		// Each half's restore-test record beside it on the destination (only this passed run wrote any).
		const destination = openDestination({ type: 'local', folder: offsite });
		try {
			const records = await listRestoreRecords(destination, ENV);
			expect(records.map((r) => [r.testedId, r.outcome]).sort()).toEqual(
				dumped.map((d) => [d.backupId, 'passed']).sort(),
			);
		} finally {
			await destination.close();
		}
	});

	it('TOTVS Restore "Restore Point" restores both halves with the identity; without it nothing is restored', async () => {
		const target = join(work, 'rp-target');
		const restorePoint = (keys: SetKeysText) =>
			run(
				RESTORE_TYPE,
				{
					operation: 'restorePoint',
					restoreServer: 'postgres',
					setSource: 'folder',
					backupsFolder: staging,
					environment: ENV,
					pick: 'latest',
					targetDatabase: TARGET_DB,
					targetFolder: target,
					useBackupKeys: true,
				},
				keys,
			);
		const refused = await restorePoint(publicOnly);
		expect(refused[0].status).toBe('failed');
		expect((refused[0].error as { message: string }).message).toContain(owner.fingerprint);
		expect(existsSync(target)).toBe(false);
		expect(await server.admin(`SELECT 1 FROM pg_database WHERE datname = '${TARGET_DB}'`)).toEqual([]);

		const [item] = await restorePoint(restoreHost);
		const restore = item.restore as Record<string, unknown>;
		expect(item.error).toBeUndefined();
		expect(restore.passed).toBe(true);
		expect(restore.database).toMatchObject({ passed: true, target: TARGET_DB });
		expect(restore.files).toMatchObject({ passed: true, target });
		expect(readFileSync(join(target, 'protheus_data', SECRET_FILE), 'utf8')).toContain(ACCENTED_CUSTOMER_NAMES[0]);
	});
});

describe("the halves' refusals hold for a sealed restore point", () => {
	it('a sealed files incremental without the identity: refused before anything is written', async () => {
		const folder = mkdtempSync(join(work, 'staging-incr-'));
		cpSync(join(staging, ENV), join(folder, ENV), { recursive: true });
		const before = setsIn(folder);
		const [item] = await dump({ filesBackupType: 'incremental' }, backupHost, folder);
		expect(item.status).toBe('failed');
		const error = item.error as { message: string; description: string };
		expect(error.message).toMatch(/sealed \(encrypted\).*no identity was given; nothing was written/);
		expect(error.message).toMatch(/restore point \S+ not made$/);
		expect(error.description).toContain('Identity');
		expect(setsIn(folder)).toEqual(before);
	});

	it('the Directory format (-Fd) is refused: no files set without its database', async () => {
		const folder = mkdtempSync(join(work, 'staging-fd-'));
		const [item] = await dump({ options: { format: 'directory' } }, backupHost, folder);
		expect(item.status).toBe('failed');
		expect((item.error as { message: string }).message).toMatch(/Directory format \(pg_dump -Fd\) cannot be sealed/);
		expect(setsIn(folder)).toEqual([]);
	});
});
