/**
 * Issue 12, item 4, for sets read from a folder (a kept download, a folder the user points at,
 * an item's set folder): the SQL Server folder a manifest records chooses where SQL Server reads
 * only when the manifest's signature verified against a trusted key. A kept download whose
 * manifest was edited to name \\attacker\share (its hashes untouched, so it still "verifies"
 * without keys) must not send SQL Server there: Verify, Restore Test and Restore then need the
 * Backup Folder parameters and say so, before any statement.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IExecuteFunctions } from 'n8n-workflow';
import type { BackupResult } from '../../../core/backup';
import { parseSetKeys, withSetKeys, type SetKeys } from '../../../core/backup-set/set-keys';
import { silentLogger } from '../../../core/logger';
import type { SharedFolder } from '../../../core/sources/sqlserver';
import {
	runSqlServerSetRestore,
	runSqlServerSetRestoreTest,
} from '../../../core/sources/sqlserver/restore/set-restore';
import { NO_TRUSTED_FOLDER } from '../../../core/sources/sqlserver/restore/recorded-folder';
import { sharedFolderOf, sqlServerVerifyAccess } from '../../../nodes/shared/sqlserver-access';
import { makeTestbed, type Testbed } from '../sources/sqlserver/testbed';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
const FOREIGN = '\\\\attacker\\share';
const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const signer = () => parseSetKeys({ signingKey }, { sign: true });
const trusted = (allowUnsigned = false) =>
	parseSetKeys({ trustedKeys: signer().signingKey!.publicKey.pem }, { allowUnsigned });
let bed: Testbed;
beforeEach(async () => {
	bed = await makeTestbed(SERVER_FOLDER);
});
afterEach(() => bed.dispose());

/** Edits the set's manifest.json to name the foreign share (its artifacts and hashes untouched). */
async function pointAtForeignShare(set: BackupResult): Promise<void> {
	const path = join(set.folder, 'manifest.json');
	const manifest = JSON.parse(await readFile(path, 'utf8')) as { source: { serverFolder: string } };
	manifest.source.serverFolder = FOREIGN;
	await writeFile(path, JSON.stringify(manifest, null, 2));
}

const nodeParameters = (parameters: Record<string, unknown>) =>
	({
		getNodeParameter: (name: string, _i: number, fallback?: unknown) => parameters[name] ?? fallback ?? '',
		getCredentials: () => Promise.reject(new Error('no credential in this test')),
	}) as unknown as IExecuteFunctions;

/** A restore test whose shared folder is what the callback decides; remembers what it was offered. */
async function restoreTestOffering(
	set: BackupResult,
	keys: SetKeys | undefined,
	decide: (r: SharedFolder) => SharedFolder,
) {
	const offered: SharedFolder[] = [];
	const report = await withSetKeys(keys, () =>
		runSqlServerSetRestoreTest({
			folder: set.folder,
			connect: async () => bed.fake.runner(),
			sharedFolder: (recorded) => {
				offered.push(recorded);
				return decide(recorded);
			},
			keepOnFailure: false,
			log: silentLogger,
		}),
	);
	return { report, offered };
}

const mentionsForeign = () => bed.fake.statements.some((s) => s.includes('attacker'));

describe('a SQL Server set read from a folder chooses no folder unless its signature verified', () => {
	it('an unsigned manifest edited to name \\\\attacker\\share: not offered, the parameters are used', async () => {
		const full = await bed.backup('full');
		await pointAtForeignShare(full);
		for (const keys of [undefined, trusted(true)]) {
			const { report, offered } = await restoreTestOffering(full, keys, (recorded) => ({
				serverFolder: recorded.serverFolder || SERVER_FOLDER,
				localFolder: recorded.localFolder || bed.share,
			}));
			expect(offered).toEqual([NO_TRUSTED_FOLDER]);
			expect(report.passed).toBe(true);
			expect(mentionsForeign()).toBe(false);
		}
	});

	it('the node with empty Backup Folder parameters: Restore Test fails naming them, before any statement', async () => {
		const full = await bed.backup('full');
		await pointAtForeignShare(full);
		const before = bed.fake.statements.length;
		await expect(
			restoreTestOffering(full, undefined, (recorded) => sharedFolderOf(nodeParameters({}), 0, recorded)),
		).rejects.toMatchObject({
			code: 'INVALID_INPUT',
			message: expect.stringMatching(
				/^Fill in "Backup Folder \(SQL Server Path\)" and "Backup Folder \(Local Mount Path\)": the set's manifest is not signed by a trusted key/,
			),
		});
		expect(bed.fake.statements.slice(before).filter((s) => s.startsWith('RESTORE'))).toEqual([]);
		expect(mentionsForeign()).toBe(false);
	});

	it('Restore (real recovery): the same, nothing restored', async () => {
		const full = await bed.backup('full');
		await pointAtForeignShare(full);
		const before = bed.fake.statements.length;
		await expect(
			runSqlServerSetRestore({
				folder: full.folder,
				connect: async () => bed.fake.runner(),
				sharedFolder: (recorded) => sharedFolderOf(nodeParameters({}), 0, recorded),
				target: 'PROTHEUS_RESTORED',
				replaceExisting: false,
				allowSourceDatabase: false,
				log: silentLogger,
			}),
		).rejects.toThrow(/^Fill in "Backup Folder \(SQL Server Path\)" and "Backup Folder \(Local Mount Path\)"/);
		expect(bed.fake.statements.slice(before).filter((s) => s.startsWith('RESTORE'))).toEqual([]);
		expect(mentionsForeign()).toBe(false);
	});

	it('Verify with "Check With SQL Server" and empty parameters: fails naming them; filled ones are used', async () => {
		const full = await bed.backup('full');
		await pointAtForeignShare(full);
		await expect(sqlServerVerifyAccess(nodeParameters({ checkWithSqlServer: true }), 0, full.folder)).rejects.toThrow(
			/^Fill in "Backup Folder \(SQL Server Path\)" and "Backup Folder \(Local Mount Path\)": the set's manifest is not signed by a trusted key/,
		);
		const filled = nodeParameters({
			checkWithSqlServer: true,
			sqlServerFolder: SERVER_FOLDER,
			sqlServerLocalFolder: bed.share,
		});
		await expect(sqlServerVerifyAccess(filled, 0, full.folder)).rejects.toThrow(/no credential in this test/);
	});

	it('a manifest signed by a trusted key: the folder Dump recorded is offered and used', async () => {
		const full = await withSetKeys(signer(), () => bed.backup('full'));
		const { report, offered } = await restoreTestOffering(full, trusted(), (recorded) =>
			sharedFolderOf(nodeParameters({}), 0, recorded),
		);
		expect(offered).toEqual([{ serverFolder: SERVER_FOLDER, localFolder: bed.share }]);
		expect(report.passed).toBe(true);
	});

	it('a signed manifest without trusted keys in use: its folder is not offered (nothing verified it)', async () => {
		const full = await withSetKeys(signer(), () => bed.backup('full'));
		const { offered } = await restoreTestOffering(full, undefined, () => ({
			serverFolder: SERVER_FOLDER,
			localFolder: bed.share,
		}));
		expect(offered).toEqual([NO_TRUSTED_FOLDER]);
	});

	it('a signed manifest edited to name the foreign share: refused on its signature, no statement', async () => {
		const full = await withSetKeys(signer(), () => bed.backup('full'));
		await pointAtForeignShare(full);
		const before = bed.fake.statements.length;
		const { report, offered } = await restoreTestOffering(full, trusted(), (recorded) => recorded);
		expect(report.passed).toBe(false);
		expect(report.checks[0]).toMatchObject({ name: 'manifest', ok: false });
		expect(offered).toEqual([]);
		expect(bed.fake.statements.length).toBe(before);
	});
});
