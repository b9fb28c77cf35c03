/**
 * Issue 12, item 4: a manifest downloaded from a destination chooses no SQL Server folder. A set
 * on the destination whose manifest was replaced to name a foreign share (\\attacker\share) is
 * fetched with the folder the caller gives, never the recorded one; the recorded folder is used
 * only when the manifest's signature verified against a trusted key. The node's parameters then
 * must give the folder, and an empty one fails naming the parameter to fill.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { IExecuteFunctions } from 'n8n-workflow';
import { parseSetKeys, withSetKeys } from '../../../core/backup-set/set-keys';
import { LocalFolderDestination } from '../../../core/destinations';
import { silentLogger } from '../../../core/logger';
import { fetchRemoteSqlServerChain, NO_TRUSTED_FOLDER } from '../../../core/restore-test/remote/sqlserver';
import type { SharedFolder } from '../../../core/sources/sqlserver/shared-folder';
import { uploadSet } from '../../../core/upload/set-transfer';
import { sharedFolderOf } from '../../../nodes/shared/sqlserver-access';
import { makeTestbed, type Testbed } from '../sources/sqlserver/testbed';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
const FOREIGN = '\\\\attacker\\share';
const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const lock = { owner: { hostname: hostname(), pid: process.pid, executionId: 'test' }, options: { waitMs: 0 } };
let bed: Testbed;
let offsiteFolder: string;
let offsite: LocalFolderDestination;

beforeEach(async () => {
	bed = await makeTestbed(SERVER_FOLDER);
	offsiteFolder = join(bed.root, 'offsite');
	await mkdir(offsiteFolder);
	offsite = new LocalFolderDestination({ type: 'local', folder: offsiteFolder });
});
afterEach(() => bed.dispose());

/** Backs up a full set (signed with `keys`), uploads it, and returns its backupId. */
async function uploadedFull(keys?: ReturnType<typeof parseSetKeys>): Promise<string> {
	const set = await withSetKeys(keys, () => bed.backup('full'));
	await withSetKeys(keys, () => uploadSet(offsite, set.folder, { lock }));
	return set.manifest.backupId;
}

/** Replaces the manifest on the destination by one naming the foreign share (artifacts untouched). */
async function pointAtForeignShare(backupId: string): Promise<void> {
	const path = join(offsiteFolder, 'prod', backupId, 'manifest.json');
	const manifest = JSON.parse(await readFile(path, 'utf8')) as { source: { serverFolder: string } };
	manifest.source.serverFolder = FOREIGN;
	await writeFile(path, JSON.stringify(manifest, null, 2));
}

/** Fetches the latest set, remembering what the callback was offered as "recorded". */
async function fetchOffering(decide: (recorded: SharedFolder) => SharedFolder) {
	const offered: SharedFolder[] = [];
	const fetched = await fetchRemoteSqlServerChain(offsite, {
		environment: 'prod',
		sharedFolder: (recorded) => {
			offered.push(recorded);
			return decide(recorded);
		},
		logger: silentLogger,
	});
	await fetched.finish(false);
	return { fetched, offered };
}

const nodeParameters = (parameters: Record<string, string>) =>
	({ getNodeParameter: (name: string) => parameters[name] ?? '' }) as unknown as IExecuteFunctions;

describe('a downloaded SQL Server set chooses no folder unless its manifest is signed by a trusted key', () => {
	it('an unsigned manifest naming a foreign share: its folder is not offered, the caller’s is used', async () => {
		const backupId = await uploadedFull();
		await pointAtForeignShare(backupId);
		const { fetched, offered } = await fetchOffering((recorded) => ({
			serverFolder: recorded.serverFolder || SERVER_FOLDER,
			localFolder: recorded.localFolder || bed.share,
		}));
		expect(offered).toEqual([NO_TRUSTED_FOLDER]);
		expect(fetched.shared).toEqual({ serverFolder: SERVER_FOLDER, localFolder: bed.share });
	});

	it('the node: empty folder parameters fail naming both, before anything is downloaded', async () => {
		const backupId = await uploadedFull();
		await pointAtForeignShare(backupId);
		const before = await readdir(bed.share);
		const run = fetchOffering((recorded) => sharedFolderOf(nodeParameters({}), 0, recorded));
		await expect(run).rejects.toMatchObject({
			code: 'INVALID_INPUT',
			message: expect.stringMatching(
				/^Fill in "Backup Folder \(SQL Server Path\)" and "Backup Folder \(Local Mount Path\)": the set's manifest is not signed by a trusted key/,
			),
		});
		expect(await readdir(bed.share)).toEqual(before);
	});

	it('the node: only the empty parameter is named; filled parameters are used', async () => {
		await uploadedFull();
		const one = fetchOffering((recorded) =>
			sharedFolderOf(nodeParameters({ sqlServerLocalFolder: bed.share }), 0, recorded),
		);
		await expect(one).rejects.toThrow(/^Fill in "Backup Folder \(SQL Server Path\)": /);
		const { fetched } = await fetchOffering((recorded) =>
			sharedFolderOf(nodeParameters({ sqlServerFolder: SERVER_FOLDER, sqlServerLocalFolder: bed.share }), 0, recorded),
		);
		expect(fetched.shared).toEqual({ serverFolder: SERVER_FOLDER, localFolder: bed.share });
	});

	it('a manifest signed by a trusted key: the folder Dump recorded is offered', async () => {
		const signer = parseSetKeys({ signingKey }, { sign: true });
		await uploadedFull(signer);
		const trusted = parseSetKeys({ trustedKeys: signer.signingKey!.publicKey.pem });
		const { fetched, offered } = await withSetKeys(trusted, () =>
			fetchOffering((recorded) => sharedFolderOf(nodeParameters({}), 0, recorded)),
		);
		expect(offered).toEqual([{ serverFolder: SERVER_FOLDER, localFolder: bed.share }]);
		expect(fetched.shared).toEqual({ serverFolder: SERVER_FOLDER, localFolder: bed.share });
	});

	it('a signed manifest replaced to name a foreign share is refused (its signature no longer verifies)', async () => {
		const signer = parseSetKeys({ signingKey }, { sign: true });
		const backupId = await uploadedFull(signer);
		await pointAtForeignShare(backupId);
		const trusted = parseSetKeys({ trustedKeys: signer.signingKey!.publicKey.pem });
		const offered: SharedFolder[] = [];
		await expect(
			withSetKeys(trusted, () =>
				fetchOffering((recorded) => {
					offered.push(recorded);
					return recorded;
				}),
			),
		).rejects.toThrow(/signature/i);
		expect(offered).toEqual([]);
	});
});
