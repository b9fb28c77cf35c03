/**
 * SQL Server Restore Test: restore a chain (full, maybe a differential, logs) into a scratch
 * database WITH MOVE to the server's default folders, NORECOVERY through the chain and
 * RECOVERY at its end; DBCC CHECKDB; the TOTVS checks against the manifest; DROP DATABASE
 * afterwards, also when anything failed. Failures of the backup are checks, not exceptions.
 */
import { randomBytes } from 'node:crypto';
import { manifestOf, type ManifestOf } from '../../../backup-set/manifest';
import { BackupError } from '../../../errors';
import { formatDuration } from '../../../format';
import type { Logger } from '../../../logger';
import { check, type CheckResult } from '../../../checks/check';
import { headerDifferences, readHeaderRows } from '../backup-header';
import { chainMemberOf } from '../chain-members';
import { checkChainOrder } from '../lsn-chain';
import { isSqlError, messagesText, rowsOf, type SqlRunner } from '../runner';
import { readServerFacts } from '../server-facts';
import { serverPathFor, type SharedFolder } from '../shared-folder';
import {
	dropDatabaseStatement,
	fileListOnlyStatement,
	recoverStatement,
	restoreStatement,
	serverJoin,
	type FileMove,
} from '../tsql';
import { checkDb, totvsChecks } from './checks';
import { withReadableBackup } from './readable-backup';
import type { ChainSet } from './plan';
import { SCRATCH_PREFIX } from '../../../restore-shared/prefixes';

export interface SqlServerRestoreTestRequest {
	/** The sets to apply, in order: see planSqlServerRestore. */
	chain: ChainSet[];
	runner: SqlRunner;
	/** The sets must lie in this folder, which SQL Server reads as shared.serverFolder. */
	shared: SharedFolder;
	/** Defaults to totvs_rt_<backupId of the last set>. Must not exist. */
	scratchDatabase?: string;
	/**
	 * Row counts and max R_E_C_N_O_ may differ by this fraction: SQL Server's inventory is read
	 * right after BACKUP finished, not inside the backup, so tables written meanwhile differ.
	 */
	rowTolerance: number;
	statsPercent: number;
	/** Leave the database in place when every check passed (Restore swaps it in afterwards). */
	keepWhenPassed?: boolean;
	/** Leave the database in place when the restore or a check failed, for investigation. */
	keepOnFailure?: boolean;
	log: Logger;
	signal?: AbortSignal;
}

export interface SqlServerRestoreTestResult {
	backupId: string;
	passed: boolean;
	database: string;
	/** The database was left in place (keepWhenPassed / keepOnFailure); never after an exception. */
	kept: boolean;
	restoreMs: number;
	checksMs: number;
	checks: CheckResult[];
}

export const scratchNameFor = (backupId: string) => `${SCRATCH_PREFIX}${backupId}`.slice(0, 128);
const fileSafe = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, '_');

/** Where each file of the full goes: <default data or log folder>\<scratch>_<file id>.<ext>. */
/**
 * Physical names `<database>_<token>_<file id>.<ext>`: the token is new for each restore, so a
 * second restore of the same set never collides with the files of the first, and a database is
 * provably ours when its files carry our token (see ownedByUs).
 */
export function movesFor(
	scratch: string,
	files: Array<Record<string, unknown>>,
	dataPath: string,
	logPath: string,
	token: string = restoreToken(),
): FileMove[] {
	return files.map((f) => {
		const type = String(f.Type);
		const id = Number(f.FileID ?? f.FileId);
		const ext = type === 'L' ? '.ldf' : type === 'D' ? (id === 1 ? '.mdf' : '.ndf') : '';
		return {
			logicalName: String(f.LogicalName),
			serverPath: serverJoin(type === 'L' ? logPath : dataPath, `${fileSafe(scratch)}_${token}_${id}${ext}`),
		};
	});
}

export const restoreToken = () => randomBytes(4).toString('hex');

/**
 * Whether `database` holds files of this restore (their physical names carry our token): after
 * a failed first RESTORE, a database by that name may be ours, half-restored, or another run's
 * that took the name meanwhile. Only ours may be dropped; unknown counts as not ours.
 */
async function ownedByUs(runner: SqlRunner, database: string, moves: FileMove[]): Promise<boolean> {
	try {
		const rows = rowsOf<{ physicalName: string }>(
			await runner.query(
				'SELECT physical_name AS physicalName FROM sys.master_files WHERE database_id = DB_ID(@name)',
				{ name: database },
			),
		);
		const ours = new Set(moves.map((m) => m.serverPath.toLowerCase()));
		return rows.length > 0 && rows.some((r) => ours.has(String(r.physicalName).toLowerCase()));
	} catch {
		return false;
	}
}

export async function runSqlServerRestoreTest(
	request: SqlServerRestoreTestRequest,
): Promise<SqlServerRestoreTestResult> {
	const { runner, log, chain } = request;
	const last = chain[chain.length - 1];
	if (!last) throw new BackupError('INVALID_INPUT', 'No backup set to restore', 'Give the set to test.');
	const target = manifestOf(last.manifest, 'sqlserver');
	const scratch = request.scratchDatabase ?? scratchNameFor(target.backupId);
	const result: SqlServerRestoreTestResult = {
		backupId: target.backupId,
		passed: false,
		database: scratch,
		kept: false,
		restoreMs: 0,
		checksMs: 0,
		checks: [],
	};
	const checks = result.checks;
	const sequence = chain.map((s) => `${s.manifest.type} ${s.manifest.backupId}`).join(' → ');

	try {
		checkChainOrder(chain.map((s) => chainMemberOf(s.manifest)));
		checks.push(
			check(
				'chain',
				true,
				'full, differential of that full, contiguous logs',
				sequence,
				`${chain.length} backup(s) form one restore chain`,
			),
		);
	} catch (error) {
		if (!(error instanceof BackupError)) throw error;
		checks.push(check('chain', false, 'full, differential of that full, contiguous logs', sequence, error.message));
		return result;
	}

	const [exists] = rowsOf<{ id: unknown }>(await runner.query('SELECT DB_ID(@name) AS id', { name: scratch }));
	if (exists && exists.id != null)
		throw new BackupError(
			'TARGET_EXISTS',
			`Database "${scratch}", which this set is restored into before its checks, already exists on ${runner.description}`,
			'Another restore or restore test of this set is running, or an earlier one kept it ("Keep Database on Failure") or could not drop it. Look at it, drop it (DROP DATABASE ...) and run again; this node never drops a database it did not create.',
		);
	const server = await readServerFacts(runner);
	let created = false;
	let completed = false;
	const started = Date.now();
	try {
		const restored = await restoreChain(request, scratch, server.dataPath, server.logPath, () => (created = true));
		result.restoreMs = Date.now() - started;
		if (restored) {
			const checksStarted = Date.now();
			checks.push(await checkDb(runner, scratch));
			checks.push(
				...(await totvsChecks(runner, scratch, target.source.collation, target.inventory, request.rowTolerance)),
			);
			result.checksMs = Date.now() - checksStarted;
		}
		completed = true;
	} finally {
		// After an exception (lost connection, cancellation) the database is always dropped.
		const passed = checks.every((c) => c.ok);
		result.kept =
			created &&
			completed &&
			((passed && request.keepWhenPassed === true) || (!passed && request.keepOnFailure === true));
		if (created && !result.kept) checks.push(await dropScratch(runner, scratch, log));
		result.passed = checks.every((c) => c.ok);
	}
	log.info(
		`Restore of ${target.backupId} into ${scratch}: checks ${result.passed ? 'passed' : 'FAILED'} (restore ${formatDuration(result.restoreMs)})${result.kept ? `; ${scratch} kept` : ''}`,
	);
	return result;

	/** Applies every set; false (with a failed check recorded) when a file or RESTORE fails. */
	async function restoreChain(
		r: SqlServerRestoreTestRequest,
		database: string,
		dataPath: string,
		logPath: string,
		onCreate: () => void,
	): Promise<boolean> {
		let moves: FileMove[] = [];
		for (const [index, set] of r.chain.entries()) {
			const m = manifestOf(set.manifest, 'sqlserver');
			const artifact = m.artifacts.find((a) => a.kind === 'sqlserver-backup');
			if (!artifact) {
				checks.push(
					check(
						'restore',
						false,
						'a SQL Server backup file',
						'none',
						`Set ${m.backupId} lists no SQL Server backup file`,
					),
				);
				return false;
			}
			// A sealed set's file is decrypted into the shared folder only while SQL Server reads it.
			const applied = await withReadableBackup(set, artifact, r.shared, r.signal, (localPath) =>
				applySet(index, m, serverPathFor(localPath, r.shared)),
			);
			if (!applied) return false;
		}
		try {
			await runner.query(recoverStatement(database), {}, { timeoutMs: 0, signal: r.signal });
		} catch (error) {
			if (!isSqlError(error)) throw error;
			checks.push(
				check(
					'restore',
					false,
					'RESTORE WITH RECOVERY succeeds',
					`Msg ${error.number}`,
					`Recovery of ${database} failed: ${messagesText(error.errors)}`,
				),
			);
			return false;
		}
		checks.push(
			check(
				'restore',
				true,
				`${r.chain.length} backup(s) restored and recovered`,
				`restored into ${database}`,
				`Restored ${sequence} in ${formatDuration(Date.now() - started)}`,
			),
		);
		return true;

		/** HEADERONLY (and FILELISTONLY for the first) and RESTORE of one set; false with a failed check. */
		async function applySet(index: number, m: ManifestOf<'sqlserver'>, serverPath: string): Promise<boolean> {
			const rows = await readHeaderRows(runner, serverPath).catch((error: unknown) => {
				if (!isSqlError(error)) throw error;
				checks.push(
					check(
						'backup-header',
						false,
						`${m.backupId} readable`,
						'unreadable',
						`RESTORE HEADERONLY of ${serverPath} failed: ${messagesText(error.errors)}`,
					),
				);
				return undefined;
			});
			if (!rows) return false;
			const problems =
				rows.length === 1
					? headerDifferences(rows[0], m.inventory.backup)
					: [`${rows.length} backups in the file, expected 1`];
			if (problems.length) {
				checks.push(
					check(
						'backup-header',
						false,
						`${m.inventory.backup.backupType} of ${m.inventory.backup.databaseName}, LSN ${m.inventory.backup.lsn.first}–${m.inventory.backup.lsn.last}`,
						problems.join('; '),
						`${serverPath} is not the backup ${m.backupId} recorded`,
					),
				);
				return false;
			}
			if (index === 0)
				moves = movesFor(
					database,
					rowsOf(await runner.query(fileListOnlyStatement(serverPath), {}, { timeoutMs: 0 })),
					dataPath,
					logPath,
				);
			const statement = restoreStatement({
				database,
				type: m.inventory.backup.backupType,
				serverPath,
				moves: index === 0 ? moves : [],
				statsPercent: r.statsPercent,
			});
			log.info(`Restore test: ${statement}`);
			try {
				await runner.query(statement, {}, { timeoutMs: 0, signal: r.signal });
				// Ours only once our RESTORE created it: a name taken by a concurrent run meanwhile
				// makes this RESTORE fail, and that database must never be dropped by us.
				if (index === 0) onCreate();
			} catch (error) {
				if (index === 0 && (await ownedByUs(runner, database, moves))) onCreate();
				if (!isSqlError(error)) throw error;
				checks.push(
					check(
						'restore',
						false,
						`RESTORE ${m.backupId} succeeds`,
						`Msg ${error.number}`,
						`RESTORE of ${m.backupId} (${serverPath}) failed: ${messagesText(error.errors)}`,
					),
				);
				return false;
			}
			return true;
		}
	}
}

/** DROP DATABASE of the scratch copy, reported as a check (a failure names what to drop by hand). */
async function dropScratch(runner: SqlRunner, database: string, log: Logger): Promise<CheckResult> {
	try {
		await runner.query(dropDatabaseStatement(database), {}, { timeoutMs: 0 });
		return check('cleanup', true, `scratch database ${database} dropped`, 'dropped', `Dropped ${database}`);
	} catch (error) {
		const text = isSqlError(error) ? messagesText(error.errors) : (error as Error).message;
		log.warn(`Could not drop scratch database ${database}: ${text}`);
		return check(
			'cleanup',
			false,
			`scratch database ${database} dropped`,
			'still there',
			`DROP DATABASE ${database} failed (${text}); drop it by hand to free its disk space`,
		);
	}
}
