/**
 * TOTVS Verify for SQL Server sets: the LSN chain from the manifests (no server needed), and
 * RESTORE HEADERONLY + VERIFYONLY WITH CHECKSUM, which only a SQL Server can run. Without a
 * connection that check is reported as not run (never as passed).
 */
import { join } from 'node:path';
import { isSealed, isSealedWithoutKeys, manifestOf, type Manifest } from '../../backup-set/manifest';
import { sealedFor } from '../../backup-set/sealed-read';
import { BackupError } from '../../errors';
import { check, notRun, type CheckResult } from '../../checks/check';
import { headerDifferences, readHeaderRows } from './backup-header';
import { planSqlServerRestore } from './restore/plan';
import { isSqlError, type SqlRunner } from './runner';
import { serverPathFor, type SharedFolder } from './shared-folder';
import { verifyOnlyStatement } from './tsql';

/** What Verify needs to ask a SQL Server to read the set's file. */
export interface SqlServerVerifyAccess {
	connect(): Promise<SqlRunner>;
	/** The set must lie in this folder, which SQL Server reads as serverFolder. */
	shared: SharedFolder;
}

export async function checkSqlServerSet(
	folder: string,
	manifest: Manifest,
	access?: SqlServerVerifyAccess,
): Promise<CheckResult[]> {
	if (isSealed(manifest)) {
		// A sealed set (issue 12): SQL Server cannot read an age file, and the LSNs of the chain are
		// in the sealed inventory: the chain is checked only when an identity opened the manifests.
		const verifyOnly = notRun(
			'verifyonly',
			'RESTORE VERIFYONLY WITH CHECKSUM passes',
			'The set is encrypted: SQL Server cannot read its file. Its ciphertext (and, with the identity, its decrypted content) was checked instead.',
		);
		if (isSealedWithoutKeys(manifest))
			return [
				notRun(
					'chain',
					'the LSN chain of the sets beside it',
					`The set is encrypted and no identity was given: the LSNs are in its sealed part, which needs the private key of ${sealedFor(manifest).join(', ')}`,
				),
				verifyOnly,
			];
		return [await chainCheck(folder, manifest), verifyOnly];
	}
	return [await chainCheck(folder, manifest), await verifyOnlyCheck(folder, manifest, access)];
}

async function chainCheck(folder: string, manifest: Manifest): Promise<CheckResult> {
	const expected =
		manifest.type === 'full'
			? 'a full backup (restores on its own)'
			: 'its base and every earlier log beside it, LSNs contiguous';
	try {
		const chain = await planSqlServerRestore(folder, manifest);
		const ids = chain.map((s) => s.manifest.backupId);
		return check(
			'chain',
			true,
			expected,
			ids.join(' → '),
			chain.length === 1 ? 'A full backup needs no other set' : `Restores from ${chain.length} sets found beside it`,
		);
	} catch (error) {
		if (!(error instanceof BackupError)) throw error;
		return check('chain', false, expected, 'broken', error.message);
	}
}

async function verifyOnlyCheck(
	folder: string,
	manifest: Manifest,
	access?: SqlServerVerifyAccess,
): Promise<CheckResult> {
	const m = manifestOf(manifest, 'sqlserver');
	const artifact = m.artifacts.find((a) => a.kind === 'sqlserver-backup');
	const expected = 'RESTORE VERIFYONLY WITH CHECKSUM: backup set valid; HEADERONLY matches the manifest';
	if (!artifact)
		return check('verifyonly', false, expected, 'no backup file', 'The manifest lists no SQL Server backup file');
	if (!access)
		return notRun(
			'verifyonly',
			expected,
			'Needs a SQL Server that can read the set folder: give TOTVS Verify a SQL Server credential and the shared backup folder to run it. Sizes and SHA-256 were still checked.',
		);
	let runner: SqlRunner | undefined;
	try {
		const serverPath = serverPathFor(join(folder, ...artifact.path.split('/')), access.shared);
		runner = await access.connect();
		const rows = await readHeaderRows(runner, serverPath);
		const problems =
			rows.length === 1
				? headerDifferences(rows[0], m.inventory.backup)
				: [`${rows.length} backups in the file, expected 1`];
		if (problems.length)
			return check(
				'verifyonly',
				false,
				expected,
				problems.join('; '),
				`${serverPath} is not the backup this manifest recorded`,
			);
		const { messages } = await runner.query(verifyOnlyStatement(serverPath), {}, { timeoutMs: 0 });
		const said = messages.map((x) => x.message).join(' ') || 'no message';
		return check(
			'verifyonly',
			true,
			expected,
			said,
			`SQL Server (${runner.description}) read the whole backup and its checksums`,
		);
	} catch (error) {
		if (isSqlError(error))
			return check(
				'verifyonly',
				false,
				expected,
				`Msg ${error.number}`,
				error.errors.map((e) => `Msg ${e.number}: ${e.message}`).join(' '),
			);
		if (error instanceof BackupError)
			return check('verifyonly', false, expected, 'not verified', `${error.message}. ${error.hint}`);
		throw error;
	} finally {
		await runner?.close();
	}
}
