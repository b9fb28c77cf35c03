/**
 * Proves the real-PostgreSQL harness and the Protheus fixture: other suites rely on both, so
 * each promise they make (encoding, accents, indexes, triggers, TOP_SP, counts, determinism)
 * is checked here against the database itself.
 */
import { existsSync } from 'node:fs';
import pg from 'pg';
import { createRole, dropRole, isRunning, startPostgres, type PgAdmin } from '../../support/postgres';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';
import {
	ACCENTED_CUSTOMER_NAMES,
	createProtheusDatabase,
	dropDatabase,
	type ProtheusDatabaseDescription,
} from '../../support/fixtures/protheus-db';

const ANCHOR = new Date('2026-03-15T12:34:56.000Z');
const SCALE = 200;

const BUSINESS_TABLES = [
	'sa1010',
	'sa2010',
	'sb1010',
	'sb2010',
	'sc5010',
	'sc6010',
	'se1010',
	'sf2010',
	'sd2010',
	'ct2010',
	'sa1020',
	'sb1020',
	'se1020',
];
const REQUIRED_TABLES = [
	...BUSINESS_TABLES,
	'sx2010',
	'sx3010',
	'six010',
	'top_field',
	'top_param',
	'top_sp',
	'sys_company',
	'sys_usr',
];

describe('PostgreSQL harness', () => {
	const server = sharedPostgres();

	it('serves a real PostgreSQL on loopback with password authentication', async () => {
		const [row] = await server.admin<{ version: string; num: string; addr: string | null }>(
			"SELECT version(), current_setting('server_version_num') AS num, inet_server_addr()::text AS addr",
		);
		expect(row.version).toMatch(/^PostgreSQL \d+/);
		expect(Number(row.num)).toBeGreaterThanOrEqual(150000);
		expect(row.addr).toBe('127.0.0.1/32');

		const wrong = new pg.Client({
			host: server.host,
			port: server.port,
			user: server.user,
			password: 'not-the-password',
			database: 'postgres',
		});
		await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
		await wrong.end().catch(() => undefined);
	});

	it('creates a non-superuser role that logs in with its password', async () => {
		const role = uniqueName('reader');
		const password = "p'ss w\\rd";
		await createRole(server, role, password, { memberOf: ['pg_read_all_data'] });
		try {
			const client = new pg.Client({
				host: server.host,
				port: server.port,
				user: role,
				password,
				database: 'postgres',
			});
			await client.connect();
			try {
				const { rows } = await client.query<{ su: boolean; reader: boolean }>(
					`SELECT rolsuper AS su, pg_has_role(current_user, 'pg_read_all_data', 'MEMBER') AS reader
					   FROM pg_roles WHERE rolname = current_user`,
				);
				expect(rows[0]).toEqual({ su: false, reader: true });
				await expect(client.query('CREATE DATABASE should_fail')).rejects.toThrow(/permission denied/);
			} finally {
				await client.end();
			}
		} finally {
			await dropRole(server, role);
		}
	});

	it('starts and stops a private server, leaving nothing behind', async () => {
		const own = await startPostgres();
		try {
			expect(isRunning(own.dataDir)).toBe(true);
			const [row] = await own.admin<{ ok: number }>('SELECT 1 AS ok');
			expect(row.ok).toBe(1);
		} finally {
			await own.stop();
		}
		expect(isRunning(own.dataDir)).toBe(false);
		expect(existsSync(own.tempDir)).toBe(false);
		await own.stop(); // a second stop is harmless
	});
});

describe('Protheus fixture database', () => {
	const server: PgAdmin = sharedPostgres();
	const name = uniqueName('protheus');
	let desc: ProtheusDatabaseDescription;
	let db: pg.Client;

	beforeAll(async () => {
		desc = await createProtheusDatabase(server, { name, scale: SCALE, seed: 7, today: ANCHOR });
		db = await server.connect(name);
	});

	afterAll(async () => {
		await db?.end();
		await dropDatabase(server, name);
	});

	const one = async <R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R> =>
		(await db.query<R>(sql, params)).rows[0];
	/** Runs writes in a transaction that is rolled back, so later tests see the loaded data. */
	const rolledBack = async <T>(work: () => Promise<T>): Promise<T> => {
		await db.query('BEGIN');
		try {
			return await work();
		} finally {
			await db.query('ROLLBACK');
		}
	};

	it('is WIN1252 with C collation, with uuid-ossp', async () => {
		const row = await one<{ enc: string; collate: string; ctype: string }>(
			`SELECT pg_encoding_to_char(encoding) AS enc, datcollate AS collate, datctype AS ctype
			   FROM pg_database WHERE datname = $1`,
			[name],
		);
		expect(row).toEqual({ enc: 'WIN1252', collate: 'C', ctype: 'C' });
		expect([desc.encoding, desc.collate, desc.ctype]).toEqual(['WIN1252', 'C', 'C']);
		expect(desc.extensions).toContain('uuid-ossp');
		const uuid = await rolledBack(() =>
			one<{ id: string }>(
				"INSERT INTO mpmenu_menu (m_name, m_desc, r_e_c_n_o_) VALUES ('SIGATST', 'Teste', 1000) RETURNING m_id AS id",
			),
		);
		expect(uuid.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
	});

	it('has the Protheus, dictionary, DBAccess and framework tables', () => {
		const names = desc.tables.map((t) => t.name);
		for (const t of REQUIRED_TABLES) expect(names).toContain(t);
	});

	it('round-trips accented names, stored as single WIN1252 bytes', async () => {
		expect(desc.samples.length).toBe(2 * ACCENTED_CUSTOMER_NAMES.length);
		for (const s of desc.samples) {
			const row = await one<{ v: string; chars: number; bytes: number }>(
				`SELECT ${pg.escapeIdentifier(s.column)} AS v, length(rtrim(${pg.escapeIdentifier(s.column)})) AS chars,
				        octet_length(rtrim(${pg.escapeIdentifier(s.column)})) AS bytes
				   FROM ${pg.escapeIdentifier(s.table)} WHERE r_e_c_n_o_ = $1`,
				[s.recno],
			);
			expect(row.v).toHaveLength(40); // char(40), padded like Protheus
			expect(row.v.trimEnd()).toBe(s.expected);
			expect(row.bytes).toBe(row.chars);
		}
		const win1252Only = await one<{ hex: string }>(
			"SELECT encode(convert_to(a1_nome, 'WIN1252'), 'hex') AS hex FROM sa1010 WHERE a1_nome LIKE 'DISTRIBUIDORA D%'",
		);
		expect(win1252Only.hex).toContain('92'); // ’ is 0x92 in WIN1252 and absent from LATIN1
	});

	it('soft-deletes the Protheus way', async () => {
		for (const table of ['sd2010', 'se1010', 'ct2010']) {
			const t = desc.tables.find((x) => x.name === table);
			expect(t?.deletedRows).toBeGreaterThan(0);
			const bad = await one<{ n: string }>(
				`SELECT count(*) AS n FROM ${table}
				  WHERE (d_e_l_e_t_ = '*' AND r_e_c_d_e_l_ <> r_e_c_n_o_) OR (d_e_l_e_t_ = ' ' AND r_e_c_d_e_l_ <> 0)
				     OR d_e_l_e_t_ NOT IN (' ', '*')`,
			);
			expect(Number(bad.n)).toBe(0);
		}
	});

	it('has a <table>_unq unique index ending in r_e_c_d_e_l_ on every Protheus table, and recno keys', async () => {
		const rows = (
			await db.query<{ table: string; unq: string | null; pk: string | null }>(
				`SELECT c.relname AS table,
				        (SELECT indexdef FROM pg_indexes i WHERE i.tablename = c.relname AND i.indexname = c.relname || '_unq') AS unq,
				        (SELECT indexdef FROM pg_indexes i WHERE i.tablename = c.relname AND i.indexname = c.relname || '_pk') AS pk
				   FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'r_e_c_d_e_l_'
				  WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace`,
			)
		).rows;
		expect(rows.map((r) => r.table)).toEqual(expect.arrayContaining(BUSINESS_TABLES));
		for (const r of rows) {
			expect(r.unq).toMatch(/^CREATE UNIQUE INDEX \S+_unq ON .* \(.*r_e_c_d_e_l_\)$/);
			expect(r.pk).toMatch(/\(r_e_c_n_o_\)$/);
		}
		expect(desc.uniqueIndexes).toEqual(expect.arrayContaining(BUSINESS_TABLES.map((t) => `${t}_unq`)));
		expect(desc.uniqueIndexes.length).toBe(rows.length);
		const ordinary = await one<{ def: string }>("SELECT indexdef AS def FROM pg_indexes WHERE indexname = 'sa1010_01'");
		expect(ordinary.def).toContain('(a1_filial, a1_cod, a1_loja, r_e_c_n_o_, d_e_l_e_t_)');
		// The unique index really is enforced.
		await expect(
			rolledBack(() =>
				db.query(
					'INSERT INTO sa1010 (a1_cod, a1_loja, r_e_c_n_o_) SELECT a1_cod, a1_loja, 999999 FROM sa1010 WHERE r_e_c_n_o_ = 1',
				),
			),
		).rejects.toThrow(/sa1010_unq/);
	});

	it('keeps S_T_A_M_P_ with a trigger', async () => {
		expect(desc.triggers).toEqual(expect.arrayContaining([{ table: 'sa1010', name: 'sa1010_s_t_a_m_p_' }]));
		const before = await one<{ s: Date }>('SELECT s_t_a_m_p_ AS s FROM sa1010 WHERE r_e_c_n_o_ = 2');
		expect(before.s.getTime()).toBeLessThan(ANCHOR.getTime() - 24 * 3600_000);
		// The upper bound has slack: timestamp(3) rounds, so a stamp may pass clock_timestamp() by <1 ms.
		const after = await rolledBack(() =>
			one<{ fresh: boolean }>(
				`UPDATE sa1010 SET a1_msblql = '1' WHERE r_e_c_n_o_ = 2
				 RETURNING s_t_a_m_p_ BETWEEN (now() AT TIME ZONE 'UTC') - interval '1 minute'
				                          AND (clock_timestamp() AT TIME ZONE 'UTC') + interval '1 second' AS fresh`,
			),
		);
		expect(after.fresh).toBe(true);
		// Loaded stamps are anchored to the requested moment and never later than it.
		expect(desc.newest.s_t_a_m_p_ && Date.parse(desc.newest.s_t_a_m_p_)).toBeLessThanOrEqual(ANCHOR.getTime());
		expect(Date.parse(desc.newest.s_t_a_m_p_ ?? '')).toBeGreaterThan(ANCHOR.getTime() - 2 * 3600_000);
	});

	it('lists in TOP_SP stored procedures that exist and run', async () => {
		expect(desc.procedures.length).toBeGreaterThanOrEqual(1);
		expect(desc.procedures.map((p) => p.name)).toContain('MAT001_01');
		for (const p of desc.procedures) expect(p.exists).toBe(true);
		const product = await one<{ cod: string }>(
			"SELECT b2_cod AS cod FROM sb2010 WHERE d_e_l_e_t_ = ' ' ORDER BY r_e_c_n_o_ LIMIT 1",
		);
		const viaProc = await one<{ v: number }>("SELECT mat001_01('01', $1) AS v", [product.cod]);
		const direct = await one<{ v: number }>(
			"SELECT sum(b2_qatu) AS v FROM sb2010 WHERE b2_cod = $1 AND d_e_l_e_t_ = ' '",
			[product.cod],
		);
		expect(viaProc.v).toBe(direct.v);
		const field = await one<{ t: string }>(
			"SELECT field_type AS t FROM top_field WHERE field_table = 'SD2010' AND field_name = 'D2_QUANT'",
		);
		expect(field.t).toBe('P');
	});

	it('describes row counts and max R_E_C_N_O_ that match the data and the scale', async () => {
		for (const t of desc.tables) {
			const row = await one<{ n: string }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(t.name)}`);
			expect({ table: t.name, rows: Number(row.n) }).toEqual({ table: t.name, rows: t.rows });
		}
		for (const table of ['sc6010', 'sd2010', 'se1010', 'ct2010']) {
			const t = desc.tables.find((x) => x.name === table);
			expect(t?.rows).toBe(SCALE);
			const r = await one<{ max: number; distinct: string }>(
				`SELECT max(r_e_c_n_o_) AS max, count(DISTINCT r_e_c_n_o_) AS distinct FROM ${table}`,
			);
			expect(t?.maxRecno).toBe(r.max);
			expect(Number(r.distinct)).toBe(SCALE);
			expect(r.max).toBeGreaterThan(SCALE); // R_E_C_N_O_ has holes, as real tables do
		}
	});

	it('dates business rows up to the anchor day', () => {
		expect(desc.today).toBe('20260315');
		expect(desc.newest).toMatchObject({ e1_emissao: '20260315', f2_emissao: '20260315', ct2_data: '20260315' });
	});

	it('is deterministic for a seed and owned by the requested role', async () => {
		const owner = uniqueName('erp');
		await createRole(server, owner, 'erp-password');
		const again = uniqueName('protheus_again');
		const other = uniqueName('protheus_other');
		try {
			await createProtheusDatabase(server, { name: again, scale: SCALE, seed: 7, today: ANCHOR, owner });
			await createProtheusDatabase(server, { name: other, scale: SCALE, seed: 8, today: ANCHOR });
			const fingerprint = async (database: string): Promise<string> => {
				const [r] = await server.admin<{ h: string }>(
					"SELECT md5(string_agg(t::text, '|' ORDER BY r_e_c_n_o_)) AS h FROM sd2010 t",
					database,
				);
				return r.h;
			};
			expect(await fingerprint(again)).toBe(await fingerprint(name));
			expect(await fingerprint(other)).not.toBe(await fingerprint(name));
			const [own] = await server.admin<{ owner: string }>(
				"SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'sd2010'",
				again,
			);
			expect(own.owner).toBe(owner);
		} finally {
			await dropDatabase(server, again);
			await dropDatabase(server, other);
			await dropRole(server, owner);
		}
	});
});
