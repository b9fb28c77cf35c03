/**
 * The checks of a restored SQL Server copy: DBCC CHECKDB, and the TOTVS checks against what the
 * manifest recorded at backup time (collation, table sets, rows, R_E_C_N_O_, objects).
 */
import type { SqlServerInventory, TableInventory } from '../../../backup-set/manifest';
import { check, listNames, TOP_SYS_APART, type CheckResult } from '../../../checks/check';
import { readContents } from '../inventory';
import { isSqlError, messagesText, rowsOf, type SqlRunner } from '../runner';
import { checkDbStatement } from '../tsql';

/** The collation Protheus expects on SQL Server (TOTVS.md). */
export const PROTHEUS_COLLATION = 'Latin1_General_BIN';

/** DBCC CHECKDB WITH NO_INFOMSGS, ALL_ERRORMSGS: silence means a consistent database. */
export async function checkDb(runner: SqlRunner, database: string): Promise<CheckResult> {
	const expected = 'DBCC CHECKDB: 0 allocation and 0 consistency errors';
	try {
		const { messages } = await runner.query(checkDbStatement(database), {}, { timeoutMs: 0 });
		const found = messages.filter(
			(m) => m.severity > 10 || /found [1-9]\d* (allocation|consistency) errors/i.test(m.message),
		);
		return found.length
			? check('dbcc', false, expected, `${found.length} problem(s)`, messagesText(found))
			: check('dbcc', true, expected, 'no errors', `DBCC CHECKDB found no problems in ${database}`);
	} catch (error) {
		if (!isSqlError(error)) throw error;
		return check(
			'dbcc',
			false,
			expected,
			`${error.errors.length} error(s)`,
			`DBCC CHECKDB reported: ${messagesText(error.errors)}`,
		);
	}
}

const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

function setCheck(
	name: string,
	what: string,
	expected: TableInventory[],
	actual: TableInventory[],
	select: (name: string) => boolean,
	note = '',
): CheckResult {
	const want = expected.filter((t) => select(t.name)).map(key);
	const have = new Set(actual.filter((t) => select(t.name)).map(key));
	const missing = want.filter((k) => !have.has(k));
	return missing.length
		? check(
				name,
				false,
				`${want.length} ${what}${note}`,
				`${want.length - missing.length} present`,
				`Missing after restore: ${listNames(missing)}`,
			)
		: check(
				name,
				true,
				`${want.length} ${what}${note}`,
				`${want.length} present`,
				`Every ${what.replace(/s$/, '')} recorded at backup time is present${note}`,
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
		setCheck('tables', 'tables', expected.tables, actual.tables, (n) => !isTop(n) && !isSys(n), TOP_SYS_APART),
		setCheck('top-tables', 'DBAccess TOP_* tables', expected.tables, actual.tables, isTop),
		setCheck('sys-tables', 'SYS_* tables', expected.tables, actual.tables, isSys),
		rowDiffs.length
			? check(
					'row-counts',
					false,
					`row counts of ${pairs.length} tables${toleranceText}`,
					`${rowDiffs.length} differ`,
					listNames(rowDiffs, 10),
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
					listNames(recnoDiffs, 10),
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
					listNames(noRecno),
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
				`Missing after restore: ${listNames(missing)}`,
			)
		: check(
				'procedures',
				true,
				`${expected.length} stored procedures`,
				`${actual.length} present`,
				'Every stored procedure recorded at backup time is present',
			);
}
