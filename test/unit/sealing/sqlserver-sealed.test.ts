/**
 * Sealed SQL Server sets against the scripted FakeSqlServer: the .bak SQL Server writes is
 * streamed through encryption into the set (never renamed or linked into it in the clear), a
 * sealed differential on a full made in the clear is refused, Verify reports what it cannot
 * check without the identity, and with it a restore test of a sealed set passes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSet } from '../../../core/backup-set/catalog';
import { parseSetKeys, withSetKeys } from '../../../core/backup-set/set-keys';
import { silentLogger } from '../../../core/logger';
import { generateAgeIdentity } from '../../../core/sealing';
import { runSqlServerSetRestoreTest } from '../../../core/sources/sqlserver/restore/set-restore';
import { verifyLocalSet } from '../../../core/verify';
import { makeTestbed, type Testbed } from '../sources/sqlserver/testbed';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
const owner = generateAgeIdentity();
const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
/** As TOTVS Dump parses its credential: sets of its own staging made before signing are accepted. */
const backupHost = () =>
	parseSetKeys({ recipients: owner.recipient, signingKey }, { encrypt: true, sign: true, allowUnsigned: true });
let bed: Testbed;
beforeEach(async () => {
	bed = await makeTestbed(SERVER_FOLDER);
});
afterEach(() => bed.dispose());

describe('sealed SQL Server sets', () => {
	it('stream the .bak through encryption: only age files in the set, nothing left in the share', async () => {
		const full = await withSetKeys(backupHost(), () => bed.backup('full'));
		const names = (await readdir(full.folder)).sort();
		expect(names).toEqual(
			['manifest.json', 'manifest.json.sig', 'manifest.sealed.json.age', expect.stringMatching(/\.bak\.age$/)].sort(),
		);
		const bak = names.find((n) => n.endsWith('.bak.age'))!;
		expect((await readFile(join(full.folder, bak))).subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
		expect((await readdir(bed.share)).filter((n) => n.endsWith('.bak'))).toEqual([]);
		expect(full.manifest.encryption).toMatchObject({ method: 'age', recipients: [{ fingerprint: owner.fingerprint }] });
	});

	it('refuse a sealed differential on a full made in the clear, saying what to do', async () => {
		await bed.backup('full');
		await expect(withSetKeys(backupHost(), () => bed.backup('differential'))).rejects.toMatchObject({
			message: expect.stringMatching(
				/^Encryption is on, but this differential backup builds on prod-\S+, which was made without encryption/,
			),
			hint: expect.stringMatching(/Make a full backup with "Encrypt and Sign" on first/),
		});
	});

	it('Verify without the identity reports the chain and VERIFYONLY as not run; with it the restore test passes', async () => {
		const full = await withSetKeys(backupHost(), () => bed.backup('full'));
		const trusted = parseSetKeys({ trustedKeys: backupHost().signingKey!.publicKey.pem });
		const { verification } = await withSetKeys(trusted, () => verifyLocalSet(full.folder));
		expect(verification.checks.map((c) => [c.name, c.ok, !!c.notRun])).toEqual([
			['manifest', true, false],
			['artifacts', true, false],
			['chain', false, true],
			['verifyonly', false, true],
		]);
		expect(verification.ok).toBe(true);
		expect((await withSetKeys(trusted, () => readSet(full.folder))).inventory).toBeNull();

		const withIdentity = parseSetKeys({
			identity: owner.identity,
			trustedKeys: backupHost().signingKey!.publicKey.pem,
		});
		// With the identity the restore test decrypts the .bak for SQL Server (sqlserver-sealed-restore.test.ts).
		const report = await withSetKeys(withIdentity, () =>
			runSqlServerSetRestoreTest({
				folder: full.folder,
				connect: async () => bed.fake.runner(),
				sharedFolder: () => ({ serverFolder: SERVER_FOLDER, localFolder: bed.share }),
				keepOnFailure: false,
				log: silentLogger,
			}),
		);
		expect(report.passed).toBe(true);
	});
});
