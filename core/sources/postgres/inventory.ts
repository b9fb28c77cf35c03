import type { Client } from 'pg';
import type {
	BusinessDate,
	Fingerprint,
	PostgresInventory,
	PostgresSourceFacts,
	TableInventory,
} from '../../backup-set/manifest';
import { makeTableMatcher, type TableSelection } from './name-patterns';

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const qualified = (t: { schema: string; name: string }) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;

/** Business tables a TOTVS DBA checks first (TOTVS.md); their aliases, lower case. */
export const KEY_ALIASES = [
	'sa1',
	'sa2',
	'sb1',
	'sb2',
	'sc5',
	'sc6',
	'sc7',
	'sf1',
	'sd1',
	'sf2',
	'sd2',
	'se1',
	'se2',
	'se5',
	'ct1',
	'ct2',
	'sra',
];
/** Newest business date per alias: how fresh the data in a backup is. */
const BUSINESS_DATE_COLUMNS: Record<string, string> = { se1: 'e1_emissao', sf2: 'f2_emissao', ct2: 'ct2_data' };
/** DBAccess table names: 3-character alias + 2-digit company + '0' (sa1010). */
export const PROTHEUS_TABLE = /^[a-z][a-z0-9]{2}[0-9]{2}0$/i;

/** Protheus field prefix: the alias without its leading S (SA1 -> a1_), else the alias (CT2 -> ct2_). */
const fieldPrefix = (alias: string) => (alias.startsWith('s') ? alias.slice(1) : alias);

export interface TableCandidate {
	oid: number;
	schema: string;
	name: string;
	bytes: number;
	estimatedRows: number;
	columns: Map<string, string>; // lower-case name -> actual name
}

export interface InventoryOptions {
	selection: TableSelection;
	/** Tables larger than this (bytes) get the planner's row estimate; 0 counts every table. */
	exactCountMaxBytes: number;
	/** Rows hashed per key table for the content fingerprint. */
	fingerprintRows: number;
}

export async function readSourceFacts(
	client: Client,
	connection: { host: string; port: number; database: string; user: string },
	pgDumpVersion: string,
): Promise<PostgresSourceFacts> {
	const { rows } = await client.query<{
		version: string;
		num: string;
		encoding: string;
		collation: string;
		ctype: string;
		bytes: string;
		current: string;
	}>(
		`SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num,
		        pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collation, d.datctype AS ctype,
		        pg_database_size(d.oid) AS bytes, current_database() AS current
		   FROM pg_database d WHERE d.datname = current_database()`,
	);
	const systemIdentifier = await readSystemIdentifier(client);
	const extensions = await client.query<{ name: string; version: string }>(
		'SELECT extname AS name, extversion AS version FROM pg_extension ORDER BY extname',
	);
	const facts = rows[0];
	return {
		host: connection.host,
		port: connection.port,
		database: connection.database,
		user: connection.user,
		serverVersion: facts.version.split(' ')[0],
		serverVersionNum: Number(facts.num),
		encoding: facts.encoding,
		collation: facts.collation,
		ctype: facts.ctype,
		extensions: extensions.rows,
		databaseBytes: Number(facts.bytes),
		pgDumpVersion,
		...(systemIdentifier ? { systemIdentifier } : {}),
		serverDatabase: facts.current,
	};
}

/**
 * The cluster's system identifier, or undefined when this user may not call pg_control_system()
 * (checked first, so no failed statement is left in a transaction).
 */
export async function readSystemIdentifier(client: Client): Promise<string | undefined> {
	const { rows } = await client.query<{ id: string | null }>(
		`SELECT CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE')
		             THEN (SELECT system_identifier::text FROM pg_control_system()) END AS id`,
	);
	return rows[0]?.id ?? undefined;
}

/** Ordinary tables whose data pg_dump would dump with this selection (extension tables excluded). */
export async function listTables(client: Client, selection: TableSelection): Promise<TableCandidate[]> {
	const { rows } = await client.query<{ oid: number; schema: string; name: string; bytes: string; reltuples: number }>(
		`SELECT c.oid, n.nspname AS schema, c.relname AS name, pg_table_size(c.oid) AS bytes, c.reltuples
		   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		  WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
		    AND NOT EXISTS (SELECT 1 FROM pg_depend d
		                     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
		  ORDER BY n.nspname, c.relname`,
	);
	const matches = makeTableMatcher(selection);
	const tables = rows
		.filter((r) => matches(r.schema, r.name))
		.map((r) => ({
			oid: r.oid,
			schema: r.schema,
			name: r.name,
			bytes: Number(r.bytes),
			estimatedRows: Math.max(0, Math.round(r.reltuples)),
			columns: new Map<string, string>(),
		}));
	if (!tables.length) return tables;
	const byOid = new Map(tables.map((t) => [t.oid, t]));
	const columns = await client.query<{ attrelid: number; attname: string }>(
		'SELECT attrelid, attname FROM pg_attribute WHERE attrelid = ANY($1) AND attnum > 0 AND NOT attisdropped',
		[tables.map((t) => t.oid)],
	);
	for (const c of columns.rows) byOid.get(c.attrelid)?.columns.set(c.attname.toLowerCase(), c.attname);
	return tables;
}

async function countRows(client: Client, table: TableCandidate, exactCountMaxBytes: number): Promise<TableInventory> {
	const recno = table.columns.get('r_e_c_n_o_');
	const estimated = exactCountMaxBytes > 0 && table.bytes > exactCountMaxBytes;
	const maxRecno = recno ? `max(${quoteIdent(recno)})` : 'NULL::bigint';
	// FROM ONLY: pg_dump dumps each table's own rows, not those of inheritance children.
	const sql = estimated
		? `SELECT NULL::bigint AS rows, ${maxRecno} AS max_recno FROM ONLY ${qualified(table)}`
		: `SELECT count(*) AS rows, ${maxRecno} AS max_recno FROM ONLY ${qualified(table)}`;
	const { rows } = await client.query<{ rows: string | null; max_recno: string | null }>(sql);
	return {
		schema: table.schema,
		name: table.name,
		rows: estimated ? table.estimatedRows : Number(rows[0].rows),
		rowsEstimated: estimated,
		bytes: table.bytes,
		maxRecno: rows[0].max_recno === null ? null : Number(rows[0].max_recno),
		hasRecno: Boolean(recno),
		hasDeleted: table.columns.has('d_e_l_e_t_'),
		protheus: PROTHEUS_TABLE.test(table.name) && Boolean(recno),
	};
}

export async function countTables(
	client: Client,
	tables: TableCandidate[],
	exactCountMaxBytes: number,
): Promise<TableInventory[]> {
	const out: TableInventory[] = [];
	for (const table of tables) out.push(await countRows(client, table, exactCountMaxBytes));
	return out;
}

async function fingerprint(client: Client, table: TableCandidate, rows: number): Promise<Fingerprint> {
	const recno = quoteIdent(table.columns.get('r_e_c_n_o_')!);
	const alias = table.name.slice(0, 3).toLowerCase();
	const accented =
		[`${fieldPrefix(alias)}_nome`, `${fieldPrefix(alias)}_desc`].map((c) => table.columns.get(c)).find(Boolean) ?? null;
	// md5() hashes the text in the database's own encoding, so a restore into another encoding
	// (WIN1252 read as UTF8) changes the fingerprint even though the characters look the same.
	const { rows: result } = await client.query<{ md5: string | null; n: string }>(
		`SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.${recno}), '')) AS md5, count(*) AS n
		   FROM (SELECT * FROM ONLY ${qualified(table)} ORDER BY ${recno} LIMIT $1) t`,
		[rows],
	);
	return {
		schema: table.schema,
		table: table.name,
		rows: Number(result[0].n),
		md5: result[0].md5 ?? '',
		accentedColumn: accented,
	};
}

async function newestBusinessDate(client: Client, table: TableCandidate, column: string): Promise<BusinessDate> {
	const deleted = table.columns.get('d_e_l_e_t_');
	const live = deleted ? `AND ${quoteIdent(deleted)} <> '*'` : '';
	const { rows } = await client.query<{ newest: string | null }>(
		`SELECT max(${quoteIdent(column)}) AS newest FROM ONLY ${qualified(table)} WHERE trim(${quoteIdent(column)}) <> '' ${live}`,
	);
	return { schema: table.schema, table: table.name, column, newest: rows[0].newest?.trim() || null };
}

/** Procedure names recorded in DBAccess's TOP_SP; the column name is detected, not assumed. */
async function topSpProcedures(client: Client, tables: TableCandidate[]) {
	const topSp = tables.find((t) => t.name.toLowerCase() === 'top_sp');
	if (!topSp) return [];
	const nameColumn =
		['sp_name', 'sp_nome', 'name', 'nome', 'proc_name', 'procname'].map((c) => topSp.columns.get(c)).find(Boolean) ??
		[...topSp.columns.entries()].find(([lower]) => /name|nome|proc/.test(lower))?.[1];
	if (!nameColumn) return [];
	const { rows } = await client.query<{ name: string; exists: boolean }>(
		`SELECT s.name, EXISTS (SELECT 1 FROM pg_proc p WHERE lower(p.proname) = lower(s.name)) AS exists
		   FROM (SELECT DISTINCT trim(${quoteIdent(nameColumn)}::text) AS name FROM ${qualified(topSp)}) s
		  WHERE s.name <> '' ORDER BY s.name LIMIT 10000`,
	);
	return rows;
}

async function objectCounts(client: Client, tables: TableCandidate[], selection: TableSelection) {
	const oids = tables.map((t) => t.oid);
	const { rows } = await client.query<{ unq: string; triggers: string }>(
		`SELECT (SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		          WHERE x.indrelid = ANY($1) AND lower(i.relname) LIKE '%\\_unq') AS unq,
		        (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = ANY($1) AND NOT t.tgisinternal) AS triggers`,
		[oids],
	);
	// pg_dump -t dumps tables only, no functions; otherwise functions of the dumped schemas.
	let functions = 0;
	if (!selection.includeTables.length) {
		const fn = await client.query<{ schema: string }>(
			`SELECT n.nspname AS schema FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			  WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
			    AND NOT EXISTS (SELECT 1 FROM pg_depend d
			                     WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`,
		);
		const inSchema = makeTableMatcher({ ...selection, includeTables: [], excludeTables: [] });
		functions = fn.rows.filter((r) => inSchema(r.schema, '')).length;
	}
	return { unqIndexes: Number(rows[0].unq), triggers: Number(rows[0].triggers), functions };
}

/**
 * Everything Restore Test later compares against. Run inside the transaction whose snapshot
 * pg_dump uses, so the counts are exactly those in the dump.
 */
export async function takeInventory(
	client: Client,
	tables: TableCandidate[],
	options: InventoryOptions,
): Promise<PostgresInventory> {
	const counted = await countTables(client, tables, options.exactCountMaxBytes);
	const fingerprints: Fingerprint[] = [];
	const businessDates: BusinessDate[] = [];
	for (const table of tables) {
		if (!PROTHEUS_TABLE.test(table.name) || !table.columns.has('r_e_c_n_o_')) continue;
		const alias = table.name.slice(0, 3).toLowerCase();
		if (KEY_ALIASES.includes(alias) && options.fingerprintRows > 0)
			fingerprints.push(await fingerprint(client, table, options.fingerprintRows));
		const dateColumn = table.columns.get(BUSINESS_DATE_COLUMNS[alias] ?? '');
		if (dateColumn) businessDates.push(await newestBusinessDate(client, table, dateColumn));
	}
	const lower = (t: TableCandidate) => t.name.toLowerCase();
	return {
		engine: 'postgres',
		snapshotConsistent: false,
		tables: counted,
		counts: await objectCounts(client, tables, options.selection),
		dbaccess: {
			topTables: tables.filter((t) => lower(t).startsWith('top_')).map((t) => t.name),
			sysTables: tables.filter((t) => lower(t).startsWith('sys_')).map((t) => t.name),
			topSpProcedures: await topSpProcedures(client, tables),
		},
		fingerprints,
		businessDates,
	};
}
