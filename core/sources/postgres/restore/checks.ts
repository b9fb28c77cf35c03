import type { Client } from 'pg';
import type { PostgresInventory, PostgresSourceFacts, TableInventory } from '../../../backup-set/manifest';
import { KEY_ALIASES, PROTHEUS_TABLE, quoteIdent } from '../inventory';
import { check, listNames, TOP_SYS_APART, type CheckResult } from '../../../checks/check';
import { countOf } from '../../../format';

/**
 * The restore-test checks of TOTVS.md ("Restore-test checks", 3 to 7): what the restored
 * database holds against what the manifest recorded at dump time. Each missing table is
 * reported by exactly one check (tables, TOP_* or SYS_*); the per-table checks compare the
 * tables both sides have, so one fault shows up once, where a DBA would look for it.
 */

/** Planner estimates (tables above the dump's exact-count limit) may differ this much. */
export const ESTIMATE_TOLERANCE = 0.1;

/** What the restored database says about itself, read after pg_restore. */
export interface RestoredFacts {
	encoding: string;
	collation: string;
	ctype: string;
	inventory: PostgresInventory;
	/** Key tables with duplicated R_E_C_N_O_ values (a few examples each). */
	duplicateRecnos: Array<{ table: string; recnos: number[] }>;
	/** Key tables checked for duplicates, and how (unique index or scan). */
	duplicateChecked: number;
}

export interface CompareContext {
	/** The backup's time (the manifest's startedAt): business dates are compared with it. */
	backupTime: string;
	/** Days the newest business date may lie before the backup date; 0 turns the check off. */
	maxAgeDays: number;
	/** False when the dump was limited to tables (pg_dump -t dumps no functions). */
	functionsDumped: boolean;
}

const key = (t: { schema: string; name?: string; table?: string }) => `${t.schema}.${t.name ?? t.table}`;
const lower = (name: string) => name.toLowerCase();
const isTop = (name: string) => lower(name).startsWith('top_');
const isSys = (name: string) => lower(name).startsWith('sys_');

export function compareWithManifest(
	source: PostgresSourceFacts,
	expected: PostgresInventory,
	restored: RestoredFacts,
	context: CompareContext,
): CheckResult[] {
	const actual = restored.inventory;
	const restoredByKey = new Map(actual.tables.map((t) => [key(t), t]));
	const both = expected.tables.filter((t) => restoredByKey.has(key(t)));
	const pairs = both.map((t) => [t, restoredByKey.get(key(t))!] as const);
	return [
		encodingCheck(source, restored),
		// Told, since the archive and row-count checks count every table (issue 16).
		tableSetCheck('tables', 'tables', expected.tables, actual.tables, (n) => !isTop(n) && !isSys(n), TOP_SYS_APART),
		tableSetCheck('top-tables', 'DBAccess TOP_* tables', expected.tables, actual.tables, isTop),
		tableSetCheck('sys-tables', 'SYS_* tables', expected.tables, actual.tables, isSys),
		context.functionsDumped
			? proceduresCheck(expected, actual)
			: check(
					'procedures',
					true,
					'not applicable',
					`${actual.counts.functions} functions`,
					'The dump was limited to some tables (pg_dump -t), which leaves functions out: procedures cannot be checked',
				),
		countCheck('unq-indexes', '_UNQ indexes', expected.counts.unqIndexes, actual.counts.unqIndexes),
		countCheck('triggers', 'triggers', expected.counts.triggers, actual.counts.triggers),
		rowCountsCheck(pairs, expected.snapshotConsistent),
		maxRecnoCheck(pairs),
		duplicateRecnoCheck(restored),
		protheusColumnsCheck(actual.tables),
		fingerprintsCheck(expected, actual),
		freshnessCheck(actual, context),
	];
}

function encodingCheck(source: PostgresSourceFacts, restored: RestoredFacts): CheckResult {
	const want = `${source.encoding} / ${source.collation} / ${source.ctype}`;
	const got = `${restored.encoding} / ${restored.collation} / ${restored.ctype}`;
	return want === got
		? check('encoding', true, want, got, "Encoding, collation and ctype equal the source database's")
		: check(
				'encoding',
				false,
				want,
				got,
				"The restored database does not have the source's encoding / collation / ctype: Protheus would read text and sort keys differently",
			);
}

function tableSetCheck(
	name: string,
	what: string,
	expectedTables: TableInventory[],
	actualTables: TableInventory[],
	belongs: (table: string) => boolean,
	note = '',
): CheckResult {
	const want = expectedTables.filter((t) => belongs(t.name)).map(key);
	const got = new Set(actualTables.filter((t) => belongs(t.name)).map(key));
	const missing = want.filter((t) => !got.has(t));
	const wanted = new Set(want);
	const extra = [...got].filter((t) => !wanted.has(t));
	const count = (n: number) => countOf(n, what.replace(/s$/, ''), what);
	const expected = `${count(want.length)}${note}`;
	if (!missing.length && !extra.length)
		return check(
			name,
			true,
			expected,
			count(got.size),
			(want.length ? `All ${want.length} ${what} of the backup are present` : `The backup has no ${what}`) + note,
		);
	const problems = [
		missing.length ? `missing: ${listNames(missing)}` : '',
		extra.length ? `not in the backup: ${listNames(extra)}` : '',
	].filter(Boolean);
	return check(
		name,
		false,
		expected,
		`${got.size} ${what} (${missing.length} missing, ${extra.length} extra)`,
		`${what}: ${problems.join('; ')}`,
	);
}

function proceduresCheck(expected: PostgresInventory, actual: PostgresInventory): CheckResult {
	const listed = expected.dbaccess.topSpProcedures;
	const existedAtSource = listed.filter((p) => p.exists).map((p) => p.name);
	const existsNow = new Set(actual.dbaccess.topSpProcedures.filter((p) => p.exists).map((p) => lower(p.name)));
	const missing = existedAtSource.filter((p) => !existsNow.has(lower(p)));
	const alreadyMissing = listed.filter((p) => !p.exists).map((p) => p.name);
	const note = alreadyMissing.length
		? ` (${alreadyMissing.length} named in TOP_SP were already missing at the source: ${listNames(alreadyMissing)})`
		: '';
	const want = `${existedAtSource.length} TOP_SP procedures, ${expected.counts.functions} functions`;
	const got = `${existedAtSource.length - missing.length} TOP_SP procedures, ${actual.counts.functions} functions`;
	if (missing.length)
		return check(
			'procedures',
			false,
			want,
			got,
			`Procedures named in TOP_SP are missing: ${listNames(missing)}. Protheus routines that call them fail${note}`,
		);
	if (actual.counts.functions !== expected.counts.functions)
		return check(
			'procedures',
			false,
			want,
			got,
			`The restored database has ${actual.counts.functions} functions, the source had ${expected.counts.functions}${note}`,
		);
	return check('procedures', true, want, got, `Every procedure named in TOP_SP exists${note}`);
}

function countCheck(name: string, what: string, expected: number, actual: number): CheckResult {
	return expected === actual
		? check(name, true, String(expected), String(actual), `${actual} ${what}, as in the backup`)
		: check(
				name,
				false,
				String(expected),
				String(actual),
				`${actual} ${what} after the restore, ${expected} in the backup`,
			);
}

type Pair = readonly [TableInventory, TableInventory];

function rowCountsCheck(pairs: Pair[], snapshotConsistent: boolean): CheckResult {
	const wrong: string[] = [];
	let estimated = 0;
	let expectedRows = 0;
	let actualRows = 0;
	for (const [want, got] of pairs) {
		expectedRows += want.rows;
		actualRows += got.rows;
		// Counts taken inside pg_dump's snapshot are exact; planner estimates get a tolerance.
		const tolerant = want.rowsEstimated || !snapshotConsistent;
		if (tolerant) estimated++;
		const allowed = tolerant ? Math.ceil(want.rows * ESTIMATE_TOLERANCE) : 0;
		if (Math.abs(got.rows - want.rows) > allowed)
			wrong.push(`${key(got)} ${got.rows} (expected ${want.rows}${tolerant ? ' ±' + allowed : ''})`);
	}
	const tolerance = estimated ? `; ${estimated} estimated counts compared within ±${ESTIMATE_TOLERANCE * 100}%` : '';
	const expected = `${expectedRows} rows in ${pairs.length} tables${tolerance}`;
	return wrong.length
		? check(
				'row-counts',
				false,
				expected,
				`${actualRows} rows; ${wrong.length} tables differ`,
				`Row counts differ: ${listNames(wrong, 10)}`,
			)
		: check(
				'row-counts',
				true,
				expected,
				`${actualRows} rows`,
				`Every table has the rows recorded at dump time${tolerance}`,
			);
}

function maxRecnoCheck(pairs: Pair[]): CheckResult {
	const withRecno = pairs.filter(([want]) => want.hasRecno);
	const wrong = withRecno
		.filter(([want, got]) => want.maxRecno !== got.maxRecno)
		.map(([want, got]) => `${key(got)} ${got.maxRecno} (expected ${want.maxRecno})`);
	const expected = `max(R_E_C_N_O_) as recorded for ${withRecno.length} tables`;
	return wrong.length
		? check(
				'max-recno',
				false,
				expected,
				`${wrong.length} tables differ`,
				`max(R_E_C_N_O_) differs: ${listNames(wrong, 10)}`,
			)
		: check(
				'max-recno',
				true,
				expected,
				`${withRecno.length} equal`,
				'The highest record number of every table is the one recorded at dump time',
			);
}

function duplicateRecnoCheck(restored: RestoredFacts): CheckResult {
	const expected = `no duplicate R_E_C_N_O_ in ${restored.duplicateChecked} key tables`;
	if (!restored.duplicateRecnos.length)
		return check(
			'duplicate-recno',
			true,
			expected,
			'none',
			`R_E_C_N_O_ is unique in every key table (${KEY_ALIASES.map((a) => a.toUpperCase()).join(', ')})`,
		);
	const detail = restored.duplicateRecnos.map((d) => `${d.table} (${d.recnos.join(', ')})`);
	return check(
		'duplicate-recno',
		false,
		expected,
		`${restored.duplicateRecnos.length} tables with duplicates`,
		`Duplicate R_E_C_N_O_ values: ${listNames(detail, 10)}`,
	);
}

function protheusColumnsCheck(tables: TableInventory[]): CheckResult {
	const protheus = tables.filter((t) => PROTHEUS_TABLE.test(t.name));
	const wrong = protheus
		.filter((t) => !t.hasRecno || !t.hasDeleted)
		.map(
			(t) =>
				`${key(t)} lacks ${[t.hasRecno ? '' : 'R_E_C_N_O_', t.hasDeleted ? '' : 'D_E_L_E_T_'].filter(Boolean).join(' and ')}`,
		);
	const expected = `R_E_C_N_O_ and D_E_L_E_T_ in all ${protheus.length} Protheus tables`;
	return wrong.length
		? check('protheus-columns', false, expected, `${wrong.length} tables lack them`, listNames(wrong, 10))
		: check(
				'protheus-columns',
				true,
				expected,
				`present in all ${protheus.length}`,
				'Every Protheus table has R_E_C_N_O_ and D_E_L_E_T_',
			);
}

function fingerprintsCheck(expected: PostgresInventory, actual: PostgresInventory): CheckResult {
	const restored = new Map(actual.fingerprints.map((f) => [key(f), f]));
	const compared = expected.fingerprints.filter((f) => restored.has(key(f)));
	const wrong = compared
		.filter((f) => restored.get(key(f))!.md5 !== f.md5 || restored.get(key(f))!.rows !== f.rows)
		.map((f) => `${key(f)}${f.accentedColumn ? ` (text column ${f.accentedColumn})` : ''}`);
	const want = `${compared.length} fingerprints equal (first rows by R_E_C_N_O_, md5 in the database encoding)`;
	return wrong.length
		? check(
				'fingerprints',
				false,
				want,
				`${wrong.length} differ`,
				`Content differs from the dump time in ${listNames(wrong, 10)}: an encoding conversion or altered data`,
			)
		: check(
				'fingerprints',
				true,
				want,
				`${compared.length} equal`,
				compared.length
					? 'The first rows of every key table are byte for byte those of the source'
					: 'The backup recorded no fingerprints',
			);
}

function freshnessCheck(actual: PostgresInventory, rule: CompareContext): CheckResult {
	const dates = actual.businessDates.filter((d) => d.newest);
	const backupDay = rule.backupTime.slice(0, 10).replace(/-/g, '');
	const described = dates.map((d) => `${d.column} ${d.newest}`).join(', ') || 'no business dates';
	if (rule.maxAgeDays <= 0)
		return check('freshness', true, 'not checked (turned off)', described, 'Freshness check turned off');
	const oldest = new Date(Date.parse(rule.backupTime) - rule.maxAgeDays * 86_400_000)
		.toISOString()
		.slice(0, 10)
		.replace(/-/g, '');
	const expected = `newest business date on or after ${oldest} (backup ${backupDay} − ${rule.maxAgeDays} days)`;
	if (!actual.businessDates.length)
		return check(
			'freshness',
			true,
			expected,
			described,
			'The backup holds none of the tables with business dates (SE1, SF2, CT2)',
		);
	const newest = dates
		.map((d) => d.newest!)
		.sort()
		.pop();
	return newest && newest >= oldest
		? check(
				'freshness',
				true,
				expected,
				described,
				`The newest business date, ${newest}, is within ${rule.maxAgeDays} days of the backup`,
			)
		: check(
				'freshness',
				false,
				expected,
				described,
				`The newest business date (${newest ?? 'none'}) is older than ${rule.maxAgeDays} days before the backup: the backup may come from a stale copy or an environment nobody uses`,
			);
}

/** Encoding of the connected database and duplicate R_E_C_N_O_ in its key tables. */
export async function readRestoredFacts(client: Client, inventory: PostgresInventory): Promise<RestoredFacts> {
	const { rows } = await client.query<{ encoding: string; collation: string; ctype: string }>(
		`SELECT pg_encoding_to_char(encoding) AS encoding, datcollate AS collation, datctype AS ctype
		   FROM pg_database WHERE datname = current_database()`,
	);
	const keyTables = inventory.tables.filter((t) => t.protheus && KEY_ALIASES.includes(lower(t.name).slice(0, 3)));
	const duplicateRecnos: RestoredFacts['duplicateRecnos'] = [];
	for (const table of keyTables) {
		const recnos = await duplicatesIn(client, table);
		if (recnos.length) duplicateRecnos.push({ table: key(table), recnos });
	}
	return { ...rows[0], inventory, duplicateRecnos, duplicateChecked: keyTables.length };
}

/**
 * A valid unique index on R_E_C_N_O_ alone (DBAccess's primary key) was just built by
 * pg_restore, so duplicates are impossible and no scan is needed; otherwise group by it.
 */
async function duplicatesIn(client: Client, table: TableInventory): Promise<number[]> {
	const qualified = `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
	const { rows: column } = await client.query<{ attname: string; attnum: number }>(
		`SELECT attname, attnum FROM pg_attribute WHERE attrelid = $1::regclass AND lower(attname) = 'r_e_c_n_o_' AND NOT attisdropped`,
		[qualified],
	);
	if (!column.length) return [];
	const { rows: unique } = await client.query(
		`SELECT 1 FROM pg_index WHERE indrelid = $1::regclass AND indisunique AND indisvalid AND indnatts = 1
		    AND indkey[0] = $2 AND indpred IS NULL LIMIT 1`,
		[qualified, column[0].attnum],
	);
	if (unique.length) return [];
	const recno = quoteIdent(column[0].attname);
	const { rows } = await client.query<{ r: string }>(
		`SELECT ${recno} AS r FROM ONLY ${qualified} GROUP BY ${recno} HAVING count(*) > 1 ORDER BY 1 LIMIT 5`,
	);
	return rows.map((r) => Number(r.r));
}
