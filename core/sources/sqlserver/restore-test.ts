/**
 * SQL Server Restore Test: restore a chain (full, maybe a differential, logs) into a scratch
 * database WITH MOVE to the server's default folders, NORECOVERY through the chain and
 * RECOVERY at its end; DBCC CHECKDB; the TOTVS checks against the manifest; DROP DATABASE
 * afterwards, also when anything failed. Failures of the backup are checks, not exceptions.
 */
import { join } from 'node:path';
import { manifestOf, type Manifest, type SqlServerInventory, type TableInventory } from '../../backup-set/manifest';
import { BackupError } from '../../errors';
import { formatDuration } from '../../format';
import type { Logger } from '../../logger';
import { check, type CheckResult } from '../../verify/checks';
import { headerDifferences, readHeaderRows } from './backup-header';
import { chainMemberOf, sqlServerSetsOf } from './chain-members';
import { readContents } from './inventory';
import { checkChainOrder, planRestoreChain } from './lsn-chain';
import { isSqlError, rowsOf, type SqlMessage, type SqlRunner } from './runner';
import { readServerFacts } from './server-facts';
import { serverPathFor, type SharedFolder } from './shared-folder';
import {
	checkDbStatement,
	dropDatabaseStatement,
	fileListOnlyStatement,
	recoverStatement,
	restoreStatement,
	serverJoin,
	type FileMove,
} from './tsql';

/** Same prefix as PostgreSQL's scratch databases, so a DBA sees at once what they are. */
export const SQLSERVER_SCRATCH_PREFIX = 'totvs_rt_';
/** The collation Protheus expects on SQL Server (TOTVS.md). */
export const PROTHEUS_COLLATION = 'Latin1_General_BIN';

export interface ChainSet {
	folder: string;
	manifest: Manifest;
}

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

/** The chain to restore to reach the set in `folder`, from the sets beside it (same environment). */
export async function planSqlServerRestore(folder: string, manifest: Manifest): Promise<ChainSet[]> {
	const m = manifestOf(manifest, 'sqlserver');
	const root = join(folder, '..', '..');
	const sets = await sqlServerSetsOf(root, m.environment, m.source.database, m.source.serverName);
	const target = chainMemberOf(manifest);
	const chain = planRestoreChain(
		target,
		sets.map((s) => s.member),
	);
	return chain.map((member) =>
		member.backupId === m.backupId ? { folder, manifest } : sets.find((s) => s.member.backupId === member.backupId)!,
	);
}

export const scratchNameFor = (backupId: string) => `${SQLSERVER_SCRATCH_PREFIX}${backupId}`.slice(0, 128);
const fileSafe = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, '_');
const errorText = (messages: SqlMessage[], max = 10) =>
	messages
		.slice(0, max)
		.map((m) => `Msg ${m.number}: ${m.message}`)
		.join(' ') + (messages.length > max ? ` … and ${messages.length - max} more` : '');

/** Where each file of the full goes: <default data or log folder>\<scratch>_<file id>.<ext>. */
export function movesFor(
	scratch: string,
	files: Array<Record<string, unknown>>,
	dataPath: string,
	logPath: string,
): FileMove[] {
	return files.map((f) => {
		const type = String(f.Type);
		const id = Number(f.FileID ?? f.FileId);
		const ext = type === 'L' ? '.ldf' : type === 'D' ? (id === 1 ? '.mdf' : '.ndf') : '';
		return {
			logicalName: String(f.LogicalName),
			serverPath: serverJoin(type === 'L' ? logPath : dataPath, `${fileSafe(scratch)}_${id}${ext}`),
		};
	});
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
			const serverPath = serverPathFor(join(set.folder, ...artifact.path.split('/')), r.shared);
			const rows = await readHeaderRows(runner, serverPath).catch((error: unknown) => {
				if (!isSqlError(error)) throw error;
				checks.push(
					check(
						'backup-header',
						false,
						`${m.backupId} readable`,
						'unreadable',
						`RESTORE HEADERONLY of ${serverPath} failed: ${errorText(error.errors)}`,
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
				if (index === 0) onCreate();
				await runner.query(statement, {}, { timeoutMs: 0, signal: r.signal });
			} catch (error) {
				if (!isSqlError(error)) throw error;
				checks.push(
					check(
						'restore',
						false,
						`RESTORE ${m.backupId} succeeds`,
						`Msg ${error.number}`,
						`RESTORE of ${m.backupId} (${serverPath}) failed: ${errorText(error.errors)}`,
					),
				);
				return false;
			}
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
					`Recovery of ${database} failed: ${errorText(error.errors)}`,
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
	}
}

/** DBCC CHECKDB WITH NO_INFOMSGS, ALL_ERRORMSGS: silence means a consistent database. */
async function checkDb(runner: SqlRunner, database: string): Promise<CheckResult> {
	const expected = 'DBCC CHECKDB: 0 allocation and 0 consistency errors';
	try {
		const { messages } = await runner.query(checkDbStatement(database), {}, { timeoutMs: 0 });
		const found = messages.filter(
			(m) => m.severity > 10 || /found [1-9]\d* (allocation|consistency) errors/i.test(m.message),
		);
		return found.length
			? check('dbcc', false, expected, `${found.length} problem(s)`, errorText(found))
			: check('dbcc', true, expected, 'no errors', `DBCC CHECKDB found no problems in ${database}`);
	} catch (error) {
		if (!isSqlError(error)) throw error;
		return check(
			'dbcc',
			false,
			expected,
			`${error.errors.length} error(s)`,
			`DBCC CHECKDB reported: ${errorText(error.errors)}`,
		);
	}
}

const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
const list = (names: string[], max = 15) =>
	names.length > max ? `${names.slice(0, max).join(', ')} and ${names.length - max} more` : names.join(', ');

function setCheck(
	name: string,
	what: string,
	expected: TableInventory[],
	actual: TableInventory[],
	select: (name: string) => boolean,
): CheckResult {
	const want = expected.filter((t) => select(t.name)).map(key);
	const have = new Set(actual.filter((t) => select(t.name)).map(key));
	const missing = want.filter((k) => !have.has(k));
	return missing.length
		? check(
				name,
				false,
				`${want.length} ${what}`,
				`${want.length - missing.length} present`,
				`Missing after restore: ${list(missing)}`,
			)
		: check(
				name,
				true,
				`${want.length} ${what}`,
				`${want.length} present`,
				`Every ${what.replace(/s$/, '')} recorded at backup time is present`,
			);
}

const within = (expected: number, actual: number, tolerance: number) =>
	Math.abs(expected - actual) <= Math.floor(Math.max(expected, 1) * tolerance);

/** The TOTVS checks: collation, table sets, rows, R_E_C_N_O_, objects. */
export async function totvsChecks(
	runner: SqlRunner,
	database: string,
	sourceCollation: string,
	expected: SqlServerInventory,
	rowTolerance: number,
): Promise<CheckResult[]> {
	const [row] = rowsOf<{ collation: string | null }>(
		await runner.query("SELECT CAST(DATABASEPROPERTYEX(@name, 'Collation') AS nvarchar(128)) AS collation", {
			name: database,
		}),
	);
	const collation = String(row?.collation ?? '');
	const collationNote =
		sourceCollation === PROTHEUS_COLLATION
			? ''
			: ` (the source uses ${sourceCollation}, not Protheus's usual ${PROTHEUS_COLLATION})`;
	const actual = await readContents(runner, database);
	const byKey = new Map(actual.tables.map((t) => [key(t), t]));
	const pairs = expected.tables.filter((t) => byKey.has(key(t))).map((t) => [t, byKey.get(key(t))!] as const);
	const tolerance = expected.snapshotConsistent ? 0 : rowTolerance;
	const toleranceText = tolerance
		? ` (tolerance ${(tolerance * 100).toFixed(2)}%: counts were read after the backup, not inside it)`
		: '';
	const rowDiffs = pairs
		.filter(([e, a]) => !within(e.rows, a.rows, tolerance))
		.map(([e, a]) => `${key(e)} ${a.rows} rows, expected ${e.rows}`);
	const recnoDiffs = pairs
		.filter(([e]) => e.maxRecno !== null)
		.filter(([e, a]) => a.maxRecno === null || !within(e.maxRecno!, a.maxRecno, tolerance))
		.map(([e, a]) => `${key(e)} max R_E_C_N_O_ ${a.maxRecno ?? 'none'}, expected ${e.maxRecno}`);
	const isTop = (n: string) => /^TOP_/i.test(n);
	const isSys = (n: string) => /^SYS_/i.test(n);
	const totalRows = pairs.reduce((sum, [, a]) => sum + a.rows, 0);
	const countCheck = (name: string, what: string, want: number, have: number) =>
		want === have
			? check(name, true, `${want} ${what}`, `${have}`, `Same number of ${what} as at backup time`)
			: check(
					name,
					false,
					`${want} ${what}`,
					`${have}`,
					`The restored database has ${have} ${what}, the source had ${want}`,
				);
	const noRecno = actual.tables.filter((t) => t.protheus && !t.hasDeleted).map(key);
	return [
		collation === sourceCollation
			? check('collation', true, sourceCollation, collation, `Collation equals the source's${collationNote}`)
			: check(
					'collation',
					false,
					sourceCollation,
					collation,
					`The restored database's collation differs from the source's: Protheus would sort and compare keys differently${collationNote}`,
				),
		setCheck('tables', 'tables', expected.tables, actual.tables, (n) => !isTop(n) && !isSys(n)),
		setCheck('top-tables', 'DBAccess TOP_* tables', expected.tables, actual.tables, isTop),
		setCheck('sys-tables', 'SYS_* tables', expected.tables, actual.tables, isSys),
		rowDiffs.length
			? check(
					'row-counts',
					false,
					`row counts of ${pairs.length} tables${toleranceText}`,
					`${rowDiffs.length} differ`,
					list(rowDiffs, 10),
				)
			: check(
					'row-counts',
					true,
					`row counts of ${pairs.length} tables${toleranceText}`,
					`${totalRows} rows, all match`,
					'Every table has the rows recorded at backup time',
				),
		recnoDiffs.length
			? check(
					'max-recno',
					false,
					`max R_E_C_N_O_ as recorded${toleranceText}`,
					`${recnoDiffs.length} differ`,
					list(recnoDiffs, 10),
				)
			: check(
					'max-recno',
					true,
					`max R_E_C_N_O_ as recorded${toleranceText}`,
					'all match',
					'Every Protheus table has the max R_E_C_N_O_ recorded at backup time',
				),
		noRecno.length
			? check(
					'protheus-columns',
					false,
					'R_E_C_N_O_ and D_E_L_E_T_ on every Protheus table',
					`${noRecno.length} without D_E_L_E_T_`,
					list(noRecno),
				)
			: check(
					'protheus-columns',
					true,
					'R_E_C_N_O_ and D_E_L_E_T_ on every Protheus table',
					'present',
					'Every Protheus table has R_E_C_N_O_ and D_E_L_E_T_',
				),
		proceduresCheck(expected.procedures, actual.procedures),
		countCheck('unq-indexes', '_UNQ indexes', expected.counts.unqIndexes, actual.counts.unqIndexes),
		countCheck('triggers', 'triggers', expected.counts.triggers, actual.counts.triggers),
	];
}

/** Every stored procedure of the source (DBAccess installs its own, listed in TOP_SP) is in the copy. */
function proceduresCheck(expected: string[], actual: string[]): CheckResult {
	const have = new Set(actual);
	const missing = expected.filter((name) => !have.has(name));
	return missing.length
		? check(
				'procedures',
				false,
				`${expected.length} stored procedures`,
				`${expected.length - missing.length} present`,
				`Missing after restore: ${list(missing)}`,
			)
		: check(
				'procedures',
				true,
				`${expected.length} stored procedures`,
				`${actual.length} present`,
				'Every stored procedure recorded at backup time is present',
			);
}

/** DROP DATABASE of the scratch copy, reported as a check (a failure names what to drop by hand). */
async function dropScratch(runner: SqlRunner, database: string, log: Logger): Promise<CheckResult> {
	try {
		await runner.query(dropDatabaseStatement(database), {}, { timeoutMs: 0 });
		return check('cleanup', true, `scratch database ${database} dropped`, 'dropped', `Dropped ${database}`);
	} catch (error) {
		const text = isSqlError(error) ? errorText(error.errors) : (error as Error).message;
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
