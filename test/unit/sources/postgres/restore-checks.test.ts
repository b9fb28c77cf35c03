/** PostgreSQL's restore-test comparisons that need no server: tolerances, freshness, names. */
import type { PostgresInventory, PostgresSourceFacts, TableInventory } from '../../../../core/backup-set/manifest';
import { compareWithManifest, type RestoredFacts } from '../../../../core/sources/postgres/restore/checks';
import { databaseNameFor } from '../../../../core/sources/postgres/restore/pg-restore';

const source = { encoding: 'WIN1252', collation: 'C', ctype: 'C' } as PostgresSourceFacts;

const table = (name: string, rows: number, extra: Partial<TableInventory> = {}): TableInventory => ({
	schema: 'public',
	name,
	rows,
	rowsEstimated: false,
	bytes: 8192,
	maxRecno: rows,
	hasRecno: true,
	hasDeleted: true,
	protheus: /^[a-z][a-z0-9]{2}[0-9]{2}0$/.test(name),
	...extra,
});

const inventory = (tables: TableInventory[], dates: Array<[string, string | null]> = []): PostgresInventory => ({
	engine: 'postgres',
	snapshotConsistent: true,
	tables,
	counts: { unqIndexes: 1, triggers: 0, functions: 0 },
	dbaccess: { topTables: [], sysTables: [], topSpProcedures: [] },
	fingerprints: [],
	businessDates: dates.map(([column, newest]) => ({ schema: 'public', table: 'se1010', column, newest })),
});

const restored = (inv: PostgresInventory, duplicateRecnos: RestoredFacts['duplicateRecnos'] = []): RestoredFacts => ({
	encoding: 'WIN1252',
	collation: 'C',
	ctype: 'C',
	inventory: inv,
	duplicateRecnos,
	duplicateChecked: 1,
});

const rule = { backupTime: '2026-11-26T02:00:00.000Z', maxAgeDays: 3, functionsDumped: true };
const failed = (checks: Array<{ name: string; ok: boolean }>) => checks.filter((c) => !c.ok).map((c) => c.name);

describe('compareWithManifest', () => {
	it('estimated row counts are compared within the tolerance, exact ones exactly', () => {
		const expected = inventory(
			[table('se1010', 1000, { rowsEstimated: true }), table('sa1010', 10)],
			[['e1_emissao', '20261125']],
		);
		const within = inventory(
			[table('se1010', 1090, { maxRecno: 1000 }), table('sa1010', 10)],
			[['e1_emissao', '20261125']],
		);
		expect(failed(compareWithManifest(source, expected, restored(within), rule))).toEqual([]);
		const beyond = inventory(
			[table('se1010', 1200, { maxRecno: 1000 }), table('sa1010', 10)],
			[['e1_emissao', '20261125']],
		);
		const rowCheck = compareWithManifest(source, expected, restored(beyond), rule).find(
			(c) => c.name === 'row-counts',
		)!;
		expect(rowCheck).toMatchObject({
			ok: false,
			message: expect.stringContaining('public.se1010 1200 (expected 1000 ±100)'),
		});
		const offByOne = inventory(
			[table('se1010', 1000), table('sa1010', 9, { maxRecno: 10 })],
			[['e1_emissao', '20261125']],
		);
		expect(failed(compareWithManifest(source, expected, restored(offByOne), rule))).toEqual(['row-counts']);
	});

	it('freshness: the newest business date must be within the threshold of the backup day', () => {
		const tables = [table('se1010', 5)];
		const stale = inventory(tables, [['e1_emissao', '20261120']]);
		const check = compareWithManifest(source, stale, restored(stale), rule).find((c) => c.name === 'freshness')!;
		expect(check).toMatchObject({
			ok: false,
			expected: expect.stringContaining('on or after 20261123'),
			actual: 'e1_emissao 20261120',
		});
		const fresh = inventory(tables, [['e1_emissao', '20261123']]);
		expect(compareWithManifest(source, fresh, restored(fresh), rule).find((c) => c.name === 'freshness')!.ok).toBe(
			true,
		);
		expect(
			compareWithManifest(source, stale, restored(stale), { ...rule, maxAgeDays: 0 }).find(
				(c) => c.name === 'freshness',
			)!.ok,
		).toBe(true);
	});

	it('duplicates, missing Protheus columns and extra tables each fail their own check', () => {
		const expected = inventory([table('sa1010', 5)], [['e1_emissao', '20261125']]);
		const actual = inventory(
			[table('sa1010', 5, { hasDeleted: false }), table('zz9010', 0, { maxRecno: null })],
			[['e1_emissao', '20261125']],
		);
		const checks = compareWithManifest(
			source,
			expected,
			restored(actual, [{ table: 'public.sa1010', recnos: [3] }]),
			rule,
		);
		expect(failed(checks)).toEqual(['tables', 'duplicate-recno', 'protheus-columns']);
		expect(checks.find((c) => c.name === 'tables')!.message).toMatch(/not in the backup: public\.zz9010/);
		expect(checks.find((c) => c.name === 'protheus-columns')!.message).toMatch(/public\.sa1010 lacks D_E_L_E_T_/);
	});

	it('the tables check says it leaves TOP_* and SYS_* tables to their own checks (issue 16: 2 tables beside 3 row counts)', () => {
		const tables = [table('sa1010', 5), table('se1010', 3), table('top_param', 1)];
		const checks = compareWithManifest(source, inventory(tables), restored(inventory(tables)), rule);
		const of = (name: string) => checks.find((c) => c.name === name)!;
		expect(of('tables').expected).toBe('2 tables (TOP_* and SYS_* tables in their own checks)');
		expect(of('tables').message).toMatch(/TOP_\* and SYS_\* tables in their own checks/);
		expect(of('top-tables').expected).toBe('1 DBAccess TOP_* table');
		expect(of('row-counts').expected).toBe('9 rows in 3 tables');
	});
});

describe('databaseNameFor', () => {
	it('is lower case, [a-z0-9_], at most 63 bytes, and unique for long ids', () => {
		expect(databaseNameFor('totvs_rt_', 'prod-20261126T020000Z-full-db')).toBe(
			'totvs_rt_prod_20261126t020000z_full_db',
		);
		const long = 'a'.repeat(63);
		const one = databaseNameFor('totvs_rt_', `${long}-20261126T020000Z-full-db`);
		const two = databaseNameFor('totvs_rt_', `${long}-20261127T020000Z-full-db`);
		expect(one).toMatch(/^totvs_rt_a+_[0-9a-f]{8}$/);
		expect(one.length).toBe(63);
		expect(one).not.toBe(two);
	});
});
