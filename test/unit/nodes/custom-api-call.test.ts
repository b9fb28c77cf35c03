/**
 * n8n adds a "Custom API Call" choice (value `__CUSTOM_API_CALL__`) to the `resource` and
 * `operation` selectors of every node that has a credential with an `authenticate` method or one
 * that extends `oAuth2Api`, `googleOAuth2Api` or `oAuth1Api` (the Drive "Sign in with Google"
 * credential does). Choosing it hides Destination and talks about HTTP authentication: our nodes
 * make no HTTP calls a user could customise, so they must never be offered it (issue 16).
 *
 * The rule below mirrors n8n 2.40's LoadNodesAndCredentials.injectCustomApiCallOptions and
 * supportsProxyAuth: it skips a node unless `defaultVersion` is absent or equal to `version`.
 * The real editor's node list is checked by test/e2e/editor.e2e.ts.
 */
import type { ICredentialType, INodeType, INodeTypeDescription } from 'n8n-workflow';
import * as pkg from '../../../index';

const PROXY_AUTH_PARENTS = ['oAuth2Api', 'googleOAuth2Api', 'oAuth1Api'];

const exported = Object.values(pkg).map((Class) => new (Class as new () => INodeType | ICredentialType)());
const nodes = exported.filter((e): e is INodeType => 'description' in e);
const credentials = exported.filter((e): e is ICredentialType => !('description' in e));

function supportsProxyAuth(node: INodeTypeDescription): boolean {
	return (node.credentials ?? []).some(({ name }) => {
		const type = credentials.find((c) => c.name === name);
		return (
			!!type && (type.authenticate !== undefined || (type.extends ?? []).some((p) => PROXY_AUTH_PARENTS.includes(p)))
		);
	});
}

/** The selectors n8n would add "Custom API Call" to. */
function injectedInto(node: INodeTypeDescription): string[] {
	const isLatestVersion = node.defaultVersion === undefined || node.defaultVersion === node.version;
	if (!isLatestVersion || !supportsProxyAuth(node)) return [];
	return node.properties
		.filter((p) => ['resource', 'operation'].includes(p.name) && Array.isArray(p.options))
		.map((p) => p.name);
}

describe('"Custom API Call" (n8n-injected)', () => {
	it('the rule sees the nodes offering Google Drive sign-in as candidates', () => {
		const candidates = nodes.filter((n) => supportsProxyAuth(n.description)).map((n) => n.description.name);
		expect(candidates).toEqual(expect.arrayContaining(['totvsUpload', 'totvsRestoreTest', 'totvsRestore']));
	});

	it.each(nodes.map((n) => [n.description.displayName, n.description] as const))(
		'%s: not added to its Operation list',
		(_name, description) => {
			expect(injectedInto(description)).toEqual([]);
		},
	);

	it('the opt-out keeps the editor adding version 1 of the node', () => {
		for (const { description } of nodes.filter((n) => supportsProxyAuth(n.description))) {
			const versions = Array.isArray(description.version) ? description.version : [description.version];
			expect({ name: description.name, defaultVersion: description.defaultVersion ?? Math.max(...versions) }).toEqual({
				name: description.name,
				defaultVersion: 1,
			});
		}
	});
});
