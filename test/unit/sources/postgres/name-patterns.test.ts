import { makeTableMatcher, selectionArguments } from '../../../../core/sources/postgres/name-patterns';

const none = { includeSchemas: [], excludeSchemas: [], includeTables: [], excludeTables: [] };

describe('pg_dump name patterns', () => {
	it('match everything without patterns', () => {
		expect(makeTableMatcher(none)('public', 'sa1010')).toBe(true);
	});

	it('use * and ? wildcards and fold unquoted names to lower case', () => {
		const matches = makeTableMatcher({ ...none, includeTables: ['SA?010', 'public.se*'] });
		expect(matches('public', 'sa1010')).toBe(true);
		expect(matches('other', 'sa2010')).toBe(true);
		expect(matches('public', 'se1010')).toBe(true);
		expect(matches('other', 'se1010')).toBe(false);
		expect(matches('public', 'sb1010')).toBe(false);
	});

	it('keep case and literal wildcards inside double quotes', () => {
		const matches = makeTableMatcher({ ...none, includeTables: ['"Mixed*"'] });
		expect(matches('public', 'Mixed*')).toBe(true);
		expect(matches('public', 'Mixedx')).toBe(false);
		expect(matches('public', 'mixed*')).toBe(false);
	});

	it('apply schema filters, which -t overrides like pg_dump', () => {
		expect(makeTableMatcher({ ...none, excludeSchemas: ['audit'] })('audit', 'x')).toBe(false);
		expect(makeTableMatcher({ ...none, includeSchemas: ['public'] })('audit', 'x')).toBe(false);
		const tableWins = makeTableMatcher({ ...none, excludeSchemas: ['audit'], includeTables: ['audit.x'] });
		expect(tableWins('audit', 'x')).toBe(true);
		expect(makeTableMatcher({ ...none, excludeTables: ['*_log'] })('public', 'zz1_log')).toBe(false);
	});

	it('pass each pattern as its own argument', () => {
		expect(selectionArguments({ ...none, includeSchemas: ['public'], excludeTables: ['a b', "x';drop"] })).toEqual([
			'--schema=public',
			'--exclude-table=a b',
			"--exclude-table=x';drop",
		]);
	});
});
