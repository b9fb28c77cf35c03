/**
 * What is in a SQL Server database, as the manifest records it and Restore Test compares it:
 * tables with row counts (sys.partitions), max R_E_C_N_O_, DBAccess TOP_* and SYS_* tables,
 * procedures, _UNQ indexes and triggers. Every query names the database explicitly
 * ([db].sys.tables…), so the same code reads the source and a restored scratch copy.
 */
import type { SqlServerInventory, TableInventory } from '../../backup-set/manifest';
import { rowsOf, type SqlRunner } from './runner';
import { quoteName, quoteString } from './tsql';

/** DBAccess's alias + company + 0 rule: SA1010, SZ1990, ZA0010. */
const PROTHEUS_TABLE = /^[A-Za-z][A-Za-z0-9]{2}[0-9]{2}0$/;
/** MAX(R_E_C_N_O_) of this many tables per statement: few round trips, short statements. */
const RECNO_BATCH = 100;

export function tablesStatement(database: string): string {
	const db = quoteName(database);
	const hasColumn = (column: string) =>
		`CAST(CASE WHEN EXISTS (SELECT 1 FROM ${db}.sys.columns c WHERE c.object_id = t.object_id AND c.name = ${quoteString(column)}) THEN 1 ELSE 0 END AS bit)`;
	return (
		`SELECT s.name AS [schema], t.name AS name, ` +
		`CAST(ISNULL((SELECT SUM(p.rows) FROM ${db}.sys.partitions p WHERE p.object_id = t.object_id AND p.index_id IN (0, 1)), 0) AS bigint) AS [rows], ` +
		`CAST(ISNULL((SELECT SUM(a.total_pages) FROM ${db}.sys.partitions p JOIN ${db}.sys.allocation_units a ON a.container_id = p.partition_id WHERE p.object_id = t.object_id), 0) * 8192 AS bigint) AS bytes, ` +
		`${hasColumn('R_E_C_N_O_')} AS hasRecno, ${hasColumn('D_E_L_E_T_')} AS hasDeleted ` +
		`FROM ${db}.sys.tables t JOIN ${db}.sys.schemas s ON s.schema_id = t.schema_id WHERE t.is_ms_shipped = 0 ORDER BY s.name, t.name`
	);
}

export function maxRecnoStatement(database: string, tables: Array<{ schema: string; name: string }>): string {
	const db = quoteName(database);
	return tables
		.map(
			(t) =>
				`SELECT ${quoteString(t.schema)} AS [schema], ${quoteString(t.name)} AS name, CAST(MAX([R_E_C_N_O_]) AS bigint) AS maxRecno FROM ${db}.${quoteName(t.schema)}.${quoteName(t.name)}`,
		)
		.join(' UNION ALL ');
}

export function objectCountsStatement(database: string): string {
	const db = quoteName(database);
	return (
		`SELECT (SELECT COUNT(*) FROM ${db}.sys.indexes i JOIN ${db}.sys.tables t ON t.object_id = i.object_id WHERE i.name LIKE N'%[_]UNQ') AS unqIndexes, ` +
		`(SELECT COUNT(*) FROM ${db}.sys.triggers tr WHERE tr.parent_class = 1) AS triggers, ` +
		`(SELECT COUNT(*) FROM ${db}.sys.procedures) AS procedures`
	);
}

export function proceduresStatement(database: string): string {
	const db = quoteName(database);
	return `SELECT s.name + N'.' + p.name AS name FROM ${db}.sys.procedures p JOIN ${db}.sys.schemas s ON s.schema_id = p.schema_id ORDER BY s.name, p.name`;
}

const tableKey = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

/** Everything but the backup header, which the source adds from HEADERONLY and msdb. */
export type DatabaseContents = Omit<SqlServerInventory, 'backup'>;

export async function readContents(runner: SqlRunner, database: string): Promise<DatabaseContents> {
	const rows = rowsOf<{
		schema: string;
		name: string;
		rows: unknown;
		bytes: unknown;
		hasRecno: unknown;
		hasDeleted: unknown;
	}>(await runner.query(tablesStatement(database)));
	const tables: TableInventory[] = rows.map((r) => ({
		schema: String(r.schema),
		name: String(r.name),
		rows: Number(r.rows ?? 0),
		rowsEstimated: false,
		bytes: Number(r.bytes ?? 0),
		maxRecno: null,
		hasRecno: Boolean(r.hasRecno),
		hasDeleted: Boolean(r.hasDeleted),
		protheus: PROTHEUS_TABLE.test(String(r.name)) && Boolean(r.hasRecno),
	}));
	const withRecno = tables.filter((t) => t.hasRecno);
	const byKey = new Map(tables.map((t) => [tableKey(t), t]));
	for (let i = 0; i < withRecno.length; i += RECNO_BATCH) {
		const batch = withRecno.slice(i, i + RECNO_BATCH);
		for (const r of rowsOf<{ schema: string; name: string; maxRecno: unknown }>(
			await runner.query(maxRecnoStatement(database, batch)),
		)) {
			const table = byKey.get(tableKey({ schema: String(r.schema), name: String(r.name) }));
			if (table) table.maxRecno = r.maxRecno == null ? null : Number(r.maxRecno);
		}
	}
	const [counts] = rowsOf<{ unqIndexes: unknown; triggers: unknown; procedures: unknown }>(
		await runner.query(objectCountsStatement(database)),
	);
	const procedures = rowsOf<{ name: string }>(await runner.query(proceduresStatement(database))).map((r) =>
		String(r.name),
	);
	const names = tables.map((t) => t.name);
	return {
		engine: 'sqlserver',
		snapshotConsistent: false,
		tables,
		counts: {
			unqIndexes: Number(counts?.unqIndexes ?? 0),
			triggers: Number(counts?.triggers ?? 0),
			procedures: Number(counts?.procedures ?? 0),
		},
		dbaccess: {
			topTables: names.filter((n) => /^TOP_/i.test(n)).sort(),
			sysTables: names.filter((n) => /^SYS_/i.test(n)).sort(),
		},
		procedures,
	};
}
