import { arrayOf, boolean, integer, nullable, object, oneOf, optional, string } from './schema';

/** What a PostgreSQL set's manifest records about its source and contents. */
export interface PostgresSourceFacts {
	host: string;
	port: number;
	database: string;
	user: string;
	serverVersion: string;
	serverVersionNum: number;
	encoding: string;
	collation: string;
	ctype: string;
	extensions: Array<{ name: string; version: string }>;
	databaseBytes: number;
	pgDumpVersion: string;
	/**
	 * The cluster's identity (pg_control_system().system_identifier, decimal): the same server
	 * whatever address, port or pooler reached it. Absent in older sets and when the backup user
	 * may not read it.
	 */
	systemIdentifier?: string;
	/** current_database() as the server names it (a pooler may give it an alias). Absent in older sets. */
	serverDatabase?: string;
}

export interface TableInventory {
	schema: string;
	name: string;
	rows: number;
	/** True when `rows` is the planner's estimate (table above the exact-count limit). */
	rowsEstimated: boolean;
	bytes: number;
	/** max(R_E_C_N_O_) when the table has that column, else null. */
	maxRecno: number | null;
	hasRecno: boolean;
	hasDeleted: boolean;
	/** Name follows DBAccess's alias + company + 0 rule (sa1010) and has R_E_C_N_O_. */
	protheus: boolean;
}

export interface Fingerprint {
	schema: string;
	table: string;
	/** Rows hashed: the first `rows` by R_E_C_N_O_. */
	rows: number;
	/** md5 of the rows' text in the database's own encoding (an encoding change alters it). */
	md5: string;
	/** A text column with accented data in the slice, named so a report can point at it. */
	accentedColumn: string | null;
}

export interface BusinessDate {
	schema: string;
	table: string;
	column: string;
	/** Newest live value, YYYYMMDD as Protheus stores it, or null when the table is empty. */
	newest: string | null;
}

export interface PostgresInventory {
	engine: 'postgres';
	/** Taken inside the snapshot pg_dump used, so counts equal the dump's. */
	snapshotConsistent: boolean;
	tables: TableInventory[];
	counts: { unqIndexes: number; triggers: number; functions: number };
	dbaccess: {
		topTables: string[];
		sysTables: string[];
		/** Procedure names listed in TOP_SP, with whether a function of that name existed. */
		topSpProcedures: Array<{ name: string; exists: boolean }>;
	};
	fingerprints: Fingerprint[];
	businessDates: BusinessDate[];
}

export const postgresSourceSchema = object({
	host: string(),
	port: integer(1),
	database: string(),
	user: string(),
	serverVersion: string(),
	serverVersionNum: integer(),
	encoding: string(),
	collation: string(),
	ctype: string(),
	extensions: arrayOf(object({ name: string(), version: string() })),
	databaseBytes: integer(),
	pgDumpVersion: string(),
	systemIdentifier: optional(string()),
	serverDatabase: optional(string()),
});

/** A table as every database engine's inventory records it (see TableInventory). */
export const tableInventorySchema = object({
	schema: string(),
	name: string(),
	rows: integer(),
	rowsEstimated: boolean,
	bytes: integer(),
	maxRecno: nullable(integer(-2147483648)),
	hasRecno: boolean,
	hasDeleted: boolean,
	protheus: boolean,
});

export const postgresInventorySchema = object({
	engine: oneOf('postgres'),
	snapshotConsistent: boolean,
	tables: arrayOf(tableInventorySchema),
	counts: object({ unqIndexes: integer(), triggers: integer(), functions: integer() }),
	dbaccess: object({
		topTables: arrayOf(string()),
		sysTables: arrayOf(string()),
		topSpProcedures: arrayOf(object({ name: string(), exists: boolean })),
	}),
	fingerprints: arrayOf(
		object({
			schema: string(),
			table: string(),
			rows: integer(),
			md5: string(/^[0-9a-f]{32}$/, '32 lowercase hex characters'),
			accentedColumn: nullable(string()),
		}),
	),
	businessDates: arrayOf(object({ schema: string(), table: string(), column: string(), newest: nullable(string()) })),
});
