import type { PostgresInventory } from '../../backup-set/manifest';
import { systemErrorCode } from '../../errors';
import type { Logger } from '../../logger';
import { closeClient } from './bounded';
import { connect, defaultDumpOptions, PostgresSource, type PostgresConnection } from '../postgres';

/** Names as DBAccess creates them (sa1010): alias of 3 characters, company of 2 digits, 0. */
const PROTHEUS_TABLE = /^[a-z][a-z0-9]{2}[0-9]{2}0$/i;

/**
 * The inventory a base backup carries: the logical engine's (exact counts up to
 * `exactCountMaxBytes`, planner estimates above it, fingerprints of key tables) when the role
 * can read the tables; else the catalog's view alone (estimated counts, no fingerprints), since
 * a REPLICATION-only role is enough for the backup itself.
 */
export async function baseInventory(
	connection: PostgresConnection,
	exactCountMaxBytes: number,
	fingerprintRows: number,
	log: Logger,
): Promise<PostgresInventory> {
	try {
		const inventory = await new PostgresSource().inventory(connection, {
			...defaultDumpOptions,
			exactCountMaxBytes,
			fingerprintRows,
		});
		// Taken beside the base backup, not inside its snapshot: a base backup has none.
		inventory.snapshotConsistent = false;
		return inventory;
	} catch (error) {
		if (systemErrorCode(error) !== '42501') throw error;
		log.warn(
			`User "${connection.user}" cannot read every table, so the base backup's inventory has planner estimates only: GRANT pg_read_all_data TO "${connection.user}" for exact counts and fingerprints`,
		);
		return catalogInventory(connection);
	}
}

/** Tables, estimated rows and DBAccess markers from the catalogs only (readable by any role). */
export async function catalogInventory(connection: PostgresConnection): Promise<PostgresInventory> {
	const client = await connect(connection);
	try {
		const { rows } = await client.query<{
			schema: string;
			name: string;
			reltuples: number;
			bytes: string;
			has_recno: boolean;
			has_deleted: boolean;
		}>(
			`SELECT n.nspname AS schema, c.relname AS name, c.reltuples, pg_table_size(c.oid)::text AS bytes,
			        EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND lower(a.attname) = 'r_e_c_n_o_' AND NOT a.attisdropped) AS has_recno,
			        EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND lower(a.attname) = 'd_e_l_e_t_' AND NOT a.attisdropped) AS has_deleted
			   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			  WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
			    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
			  ORDER BY 1, 2`,
		);
		const counts = await client.query<{ unq: string; triggers: string; functions: string }>(
			`SELECT (SELECT count(*) FROM pg_class i JOIN pg_namespace n ON n.oid = i.relnamespace
			          WHERE i.relkind = 'i' AND lower(i.relname) LIKE '%\\_unq' AND n.nspname NOT LIKE 'pg\\_%') AS unq,
			        (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal) AS triggers,
			        (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			          WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
			            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')) AS functions`,
		);
		const names = rows.map((r) => r.name);
		return {
			engine: 'postgres',
			snapshotConsistent: false,
			tables: rows.map((r) => ({
				schema: r.schema,
				name: r.name,
				// reltuples is -1 for a table never vacuumed or analyzed.
				rows: Math.max(0, Math.round(r.reltuples)),
				rowsEstimated: true,
				bytes: Number(r.bytes),
				maxRecno: null,
				hasRecno: r.has_recno,
				hasDeleted: r.has_deleted,
				protheus: PROTHEUS_TABLE.test(r.name) && r.has_recno,
			})),
			counts: {
				unqIndexes: Number(counts.rows[0].unq),
				triggers: Number(counts.rows[0].triggers),
				functions: Number(counts.rows[0].functions),
			},
			dbaccess: {
				topTables: names.filter((n) => n.toLowerCase().startsWith('top_')),
				sysTables: names.filter((n) => n.toLowerCase().startsWith('sys_')),
				topSpProcedures: [],
			},
			fingerprints: [],
			businessDates: [],
		};
	} finally {
		await closeClient(client);
	}
}
