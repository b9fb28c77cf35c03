/** The exact T-SQL the SQL Server engine sends, and that nothing from a parameter escapes its quotes. */
import fc from 'fast-check';
import { BackupError } from '../../../../core/errors';
import { maxRecnoStatement, tablesStatement } from '../../../../core/sources/sqlserver/inventory';
import {
	backupStatement,
	checkDbStatement,
	dropDatabaseStatement,
	fileListOnlyStatement,
	headerOnlyStatement,
	percentFromMessage,
	quoteName,
	quoteString,
	recoverStatement,
	restoreStatement,
	serverJoin,
	verifyOnlyStatement,
	type BackupStatementOptions,
} from '../../../../core/sources/sqlserver/tsql';
import { readQuotedName, readQuotedString } from './fake-sql-server';

const HOSTILE = "a]b'; DROP TABLE x--";
const base: BackupStatementOptions = {
	database: 'PROTHEUS',
	type: 'full',
	serverPath: 'D:\\Backup\\n8n\\prod\\prod-20261126T020000Z-full-db\\PROTHEUS_FULL.bak',
	name: 'prod-20261126T020000Z-full-db',
	description: 'n8n-nodes-totvs-backup prod',
	compression: true,
	copyOnly: false,
	statsPercent: 10,
};

describe('BACKUP statements', () => {
	it('full, compressed', () => {
		expect(backupStatement(base)).toBe(
			"BACKUP DATABASE [PROTHEUS] TO DISK = N'D:\\Backup\\n8n\\prod\\prod-20261126T020000Z-full-db\\PROTHEUS_FULL.bak' WITH CHECKSUM, COMPRESSION, NAME = N'prod-20261126T020000Z-full-db', DESCRIPTION = N'n8n-nodes-totvs-backup prod', STATS = 10",
		);
	});

	it('full, copy-only, without compression (Express/Web)', () => {
		expect(backupStatement({ ...base, compression: false, copyOnly: true, statsPercent: 5 })).toBe(
			"BACKUP DATABASE [PROTHEUS] TO DISK = N'D:\\Backup\\n8n\\prod\\prod-20261126T020000Z-full-db\\PROTHEUS_FULL.bak' WITH CHECKSUM, NO_COMPRESSION, COPY_ONLY, NAME = N'prod-20261126T020000Z-full-db', DESCRIPTION = N'n8n-nodes-totvs-backup prod', STATS = 5",
		);
	});

	it('differential', () => {
		expect(
			backupStatement({
				...base,
				type: 'differential',
				serverPath: '/var/opt/mssql/backup/PROTHEUS_DIFF.bak',
				name: 'prod-x-differential-db',
			}),
		).toBe(
			"BACKUP DATABASE [PROTHEUS] TO DISK = N'/var/opt/mssql/backup/PROTHEUS_DIFF.bak' WITH DIFFERENTIAL, CHECKSUM, COMPRESSION, NAME = N'prod-x-differential-db', DESCRIPTION = N'n8n-nodes-totvs-backup prod', STATS = 10",
		);
	});

	it('log, and copy-only log', () => {
		const log = {
			...base,
			type: 'log' as const,
			serverPath: '\\\\filer\\totvs\\PROTHEUS_LOG.trn',
			name: 'prod-x-log-db',
		};
		expect(backupStatement(log)).toBe(
			"BACKUP LOG [PROTHEUS] TO DISK = N'\\\\filer\\totvs\\PROTHEUS_LOG.trn' WITH CHECKSUM, COMPRESSION, NAME = N'prod-x-log-db', DESCRIPTION = N'n8n-nodes-totvs-backup prod', STATS = 10",
		);
		expect(backupStatement({ ...log, copyOnly: true })).toContain('WITH CHECKSUM, COMPRESSION, COPY_ONLY, NAME');
	});

	it('refuses copy-only differentials (SQL Server would silently ignore COPY_ONLY)', () => {
		expect(() => backupStatement({ ...base, type: 'differential', copyOnly: true })).toThrow(
			/Copy-only applies to full and log backups/,
		);
	});

	it('refuses a progress step that is not a percentage', () => {
		for (const stats of [0, 101, NaN, -5])
			expect(() => backupStatement({ ...base, statsPercent: stats })).toThrow(BackupError);
	});

	it('quotes hostile and unicode names and paths', () => {
		const statement = backupStatement({
			...base,
			database: HOSTILE,
			serverPath: "D:\\Backup\\O'Brien\\çãõ ü 数据.bak",
			name: "x'y",
			description: "it's",
		});
		expect(statement).toBe(
			"BACKUP DATABASE [a]]b'; DROP TABLE x--] TO DISK = N'D:\\Backup\\O''Brien\\çãõ ü 数据.bak' WITH CHECKSUM, COMPRESSION, NAME = N'x''y', DESCRIPTION = N'it''s', STATS = 10",
		);
		// Reading the statement back as SQL Server's parser would gives the original values.
		const afterVerb = readQuotedName(statement.slice('BACKUP DATABASE '.length));
		expect(afterVerb.name).toBe(HOSTILE);
		expect(readQuotedString(afterVerb.rest.slice(' TO DISK = '.length)).value).toBe(
			"D:\\Backup\\O'Brien\\çãõ ü 数据.bak",
		);
	});
});

describe('RESTORE, DBCC and DROP statements', () => {
	const path = "D:\\Backup\\it's.bak";
	it('HEADERONLY, FILELISTONLY, VERIFYONLY WITH CHECKSUM', () => {
		expect(headerOnlyStatement(path)).toBe("RESTORE HEADERONLY FROM DISK = N'D:\\Backup\\it''s.bak'");
		expect(fileListOnlyStatement(path)).toBe("RESTORE FILELISTONLY FROM DISK = N'D:\\Backup\\it''s.bak'");
		expect(verifyOnlyStatement(path)).toBe("RESTORE VERIFYONLY FROM DISK = N'D:\\Backup\\it''s.bak' WITH CHECKSUM");
	});

	it('RESTORE DATABASE WITH MOVE … NORECOVERY, then LOG, then RECOVERY', () => {
		expect(
			restoreStatement({
				database: 'totvs_rt_prod-x',
				type: 'full',
				serverPath: path,
				moves: [
					{ logicalName: 'PROTHEUS_Data', serverPath: 'D:\\Data\\totvs_rt_prod-x_1.mdf' },
					{ logicalName: "Log'1", serverPath: 'L:\\Log\\totvs_rt_prod-x_2.ldf' },
				],
				statsPercent: 10,
			}),
		).toBe(
			"RESTORE DATABASE [totvs_rt_prod-x] FROM DISK = N'D:\\Backup\\it''s.bak' WITH FILE = 1, MOVE N'PROTHEUS_Data' TO N'D:\\Data\\totvs_rt_prod-x_1.mdf', MOVE N'Log''1' TO N'L:\\Log\\totvs_rt_prod-x_2.ldf', NORECOVERY, CHECKSUM, STATS = 10",
		);
		expect(restoreStatement({ database: 'db', type: 'log', serverPath: 'x.trn', moves: [], statsPercent: 25 })).toBe(
			"RESTORE LOG [db] FROM DISK = N'x.trn' WITH FILE = 1, NORECOVERY, CHECKSUM, STATS = 25",
		);
		expect(recoverStatement(HOSTILE)).toBe("RESTORE DATABASE [a]]b'; DROP TABLE x--] WITH RECOVERY");
	});

	it('DBCC CHECKDB and DROP DATABASE of a hostile name', () => {
		expect(checkDbStatement(HOSTILE)).toBe("DBCC CHECKDB ([a]]b'; DROP TABLE x--]) WITH NO_INFOMSGS, ALL_ERRORMSGS");
		expect(dropDatabaseStatement(HOSTILE)).toBe(
			"IF DB_ID(N'a]b''; DROP TABLE x--') IS NOT NULL BEGIN IF DATABASEPROPERTYEX(N'a]b''; DROP TABLE x--', 'Status') = N'ONLINE' ALTER DATABASE [a]]b'; DROP TABLE x--] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [a]]b'; DROP TABLE x--]; END",
		);
	});
});

describe('quoting', () => {
	it("doubles ] in names and ' in strings", () => {
		expect(quoteName('a]b')).toBe('[a]]b]');
		expect(quoteName(']]')).toBe('[]]]]]');
		expect(quoteString("'; --")).toBe("N'''; --'");
		expect(quoteString('São Paulo – ação')).toBe("N'São Paulo – ação'");
	});

	it('refuses NUL characters and names SQL Server cannot hold', () => {
		expect(() => quoteName('a\u0000b')).toThrow(/NUL/);
		expect(() => quoteString('a\u0000b')).toThrow(/NUL/);
		expect(() => quoteName('')).toThrow(/1 to 128/);
		expect(() => quoteName('x'.repeat(129))).toThrow(/1 to 128/);
		expect(quoteName('x'.repeat(128))).toHaveLength(130);
	});

	it("round-trips any name and any string through SQL Server's quoting rules", () => {
		const text = fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !s.includes('\u0000'));
		fc.assert(
			fc.property(
				text.filter((s) => s.length >= 1 && s.length <= 128),
				text,
				(name, value) => {
					const quotedName = quoteName(name);
					const parsedName = readQuotedName(`${quotedName} tail`);
					expect(parsedName).toEqual({ name, rest: ' tail' });
					const parsedString = readQuotedString(`${quoteString(value)} tail`);
					expect(parsedString).toEqual({ value, rest: ' tail' });
				},
			),
			{ numRuns: 300 },
		);
	});

	it('inventory statements quote database, schema and table names', () => {
		expect(tablesStatement(HOSTILE)).toContain(
			"FROM [a]]b'; DROP TABLE x--].sys.tables t JOIN [a]]b'; DROP TABLE x--].sys.schemas s",
		);
		expect(tablesStatement('P12')).toContain("c.name = N'R_E_C_N_O_'");
		expect(
			maxRecnoStatement('P12', [
				{ schema: "o'k", name: 'SA1]010' },
				{ schema: 'dbo', name: 'SE1010' },
			]),
		).toBe(
			"SELECT N'o''k' AS [schema], N'SA1]010' AS name, CAST(MAX([R_E_C_N_O_]) AS bigint) AS maxRecno FROM [P12].[o'k].[SA1]]010] UNION ALL " +
				"SELECT N'dbo' AS [schema], N'SE1010' AS name, CAST(MAX([R_E_C_N_O_]) AS bigint) AS maxRecno FROM [P12].[dbo].[SE1010]",
		);
	});
});

describe('helpers', () => {
	it('reads STATS progress messages', () => {
		expect(percentFromMessage('10 percent processed.')).toBe(10);
		expect(percentFromMessage('100 percent processed.')).toBe(100);
		expect(percentFromMessage('Processed 1234 pages for database')).toBeUndefined();
	});

	it('joins paths the way the server writes them', () => {
		expect(serverJoin('D:\\MSSQL\\Data\\', 'x.mdf')).toBe('D:\\MSSQL\\Data\\x.mdf');
		expect(serverJoin('D:\\MSSQL\\Data', 'x.mdf')).toBe('D:\\MSSQL\\Data\\x.mdf');
		expect(serverJoin('\\\\filer\\share', 'x.bak')).toBe('\\\\filer\\share\\x.bak');
		expect(serverJoin('/var/opt/mssql/data/', 'x.mdf')).toBe('/var/opt/mssql/data/x.mdf');
		expect(serverJoin('/var/opt/mssql/data', 'x.mdf')).toBe('/var/opt/mssql/data/x.mdf');
	});
});
