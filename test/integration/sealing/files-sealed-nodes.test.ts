/**
 * Sealed Protheus file sets through the nodes inside n8n's real engine: TOTVS Dump (source
 * Protheus Files, Encrypt and Sign) with the backup host's credential (public keys and signing
 * key), TOTVS Verify with public keys only, a sealed incremental refused without the identity
 * (a failed item saying what to do) and made with it, TOTVS Restore Test "Test Files Set" and
 * TOTVS Restore "Restore Files" with the restore host's credential (identity, trusted key).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { parseSetKeys, type SetKeysText } from '../../../core/backup-set/set-keys';
import { generateAgeIdentity } from '../../../core/sealing';
import { TotvsBackupKeys } from '../../../credentials/TotvsBackupKeys.credentials';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsRestore } from '../../../nodes/TotvsRestore/TotvsRestore.node';
import { TotvsRestoreTest } from '../../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { TotvsVerify } from '../../../nodes/TotvsVerify/TotvsVerify.node';
import { age, createProtheusTree, type ProtheusTree } from '../../../support/fixtures/protheus-tree';
import { MANUAL_TRIGGER_TYPE, packageNodeTypes, PACKAGE_NAME, runWorkflow } from '../../../support/n8n-engine';
import { DUMP_TYPE, VERIFY_TYPE } from '../../../support/totvs-workflow';

const owner = generateAgeIdentity();
const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const signingPublic = parseSetKeys({ signingKey }).signingKey!.publicKey.pem;
const backupHost: SetKeysText = { recipients: owner.recipient, signingKey };
const restoreHost: SetKeysText = { identity: owner.identity, trustedKeys: signingPublic };
const ENV = 'sealedfiles';

let work: string;
let tree: ProtheusTree;
let staging: string;

function run(type: string, parameters: INodeParameters, keys: SetKeysText) {
	const name = type.split('.').pop()!;
	return runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE, parameters: {} },
				{
					name,
					type,
					parameters,
					continueOnFail: true,
					credentials: { totvsBackupKeys: { id: 'keys', name: 'Backup keys' } },
				},
			],
			connections: { Start: { main: [[{ node: name, type: 'main', index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsVerify(), new TotvsRestoreTest(), new TotvsRestore()]),
			credentialTypes: [new TotvsBackupKeys()],
			credentials: { keys: { type: 'totvsBackupKeys', name: 'Backup keys', data: { ...keys } } },
		},
	).then((result) => {
		expect(result.error).toBeUndefined();
		return result.jsonOf(name)[0];
	});
}
const dump = (filesBackupType: string, keys: SetKeysText) =>
	run(
		DUMP_TYPE,
		{
			source: 'protheusFiles',
			environment: ENV,
			stagingFolder: staging,
			encryptAndSign: true,
			filesBackupType,
			appserverIni: tree.appserverIni,
			options: { compression: 'zstd', promoteToFull: true },
		},
		keys,
	);
/** The latest files set of the environment in the staging folder (also finds sealed sets). */
const latest = () => ({ setSource: 'folder', backupsFolder: staging, environment: ENV, pick: 'latest' });
const checksOf = (item: IDataObject) =>
	(item.verification as { checks: Array<{ name: string; ok: boolean; notRun?: boolean }> }).checks.map((c) => [
		c.name,
		c.ok || !!c.notRun,
	]);

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-files-sealed-nodes-'));
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 30, rpoBytes: 64 << 10, tables: 2 });
	staging = join(work, 'staging');
	mkdirSync(staging);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('sealed files sets in n8n', () => {
	let fullFolder: string;
	let incrementalFolder: string;

	it('TOTVS Dump seals a files set; Verify with public keys checks it without the identity', async () => {
		const full = await dump('full', backupHost);
		expect(full.status).toBe('ok');
		fullFolder = full.location as string;
		expect(readdirSync(fullFolder).sort()).toEqual([
			'files.tar.zst.age',
			'manifest.json',
			'manifest.json.sig',
			'manifest.sealed.json.age',
		]);
		expect(JSON.parse(readFileSync(join(fullFolder, 'manifest.json'), 'utf8')).inventory).toBeNull();
		const verified = await run(
			VERIFY_TYPE,
			{ setFolder: fullFolder, useBackupKeys: true },
			{ trustedKeys: signingPublic },
		);
		expect(checksOf(verified)).toEqual([
			['manifest', true],
			['artifacts', true],
			['archive', true],
			['chain', true],
		]);
	});

	it('a sealed incremental without the identity is a failed item saying what to do; with it, it builds on the full', async () => {
		const changed = join(tree.protheusData, 'profile', 'novo-sealed.prf');
		writeFileSync(changed, 'idioma=pt-BR\n');
		await age(changed, 0);
		const refused = await dump('incremental', backupHost);
		expect(refused.status).toBe('failed');
		expect(JSON.stringify(refused.error)).toMatch(/Identity/);
		expect(readdirSync(join(staging, ENV))).toHaveLength(1);

		const made = await dump('incremental', { ...backupHost, identity: owner.identity });
		expect(made).toMatchObject({
			status: 'ok',
			type: 'incremental',
			parentBackupId: readdirSync(join(staging, ENV))[0],
		});
		incrementalFolder = made.location as string;
	});

	it('Test Files Set and Restore Files decrypt the chain on the fly with the identity', async () => {
		const scratch = join(work, 'scratch');
		mkdirSync(scratch);
		const tested = await run(
			`${PACKAGE_NAME}.totvsRestoreTest`,
			{ operation: 'files', ...latest(), useBackupKeys: true, options: { scratchFolder: scratch } },
			restoreHost,
		);
		expect(tested).toMatchObject({ backupId: basename(incrementalFolder), restoreTest: { passed: true } });
		expect(readdirSync(scratch)).toEqual([]);

		const target = join(work, 'restored', 'totvs');
		const restored = await run(
			`${PACKAGE_NAME}.totvsRestore`,
			{ operation: 'files', ...latest(), targetFolder: target, useBackupKeys: true },
			restoreHost,
		);
		expect(restored.status).toBe('ok');
		expect(readFileSync(join(target, 'protheus_data', 'profile', 'novo-sealed.prf'), 'utf8')).toBe('idioma=pt-BR\n');
	});
});
