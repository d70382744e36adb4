// Drives Backstage's published CatalogClient against Wayline; prints what each call returned as JSON.
// Usage: WAYLINE_CATALOG_URL=http://host/api/catalog WAYLINE_TOKEN=... GIT_URL=... node client-check.mjs
import { CatalogClient } from '@backstage/catalog-client';

const baseUrl = process.env.WAYLINE_CATALOG_URL;
const token = process.env.WAYLINE_TOKEN;
const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async () => baseUrl },
  fetchApi: { fetch: globalThis.fetch },
});
const options = { token };
const names = (items) => items.map((e) => e?.metadata?.name ?? null);
const out = {};

const page1 = await client.queryEntities(
  { filter: { kind: 'component', 'spec.type': 'service' }, orderFields: { field: 'metadata.name', order: 'asc' }, limit: 1 },
  options,
);
out.page1 = { names: names(page1.items), totalItems: page1.totalItems, hasNext: Boolean(page1.pageInfo.nextCursor) };
const page2 = await client.queryEntities({ cursor: page1.pageInfo.nextCursor, limit: 1 }, options);
out.page2 = { names: names(page2.items), hasPrev: Boolean(page2.pageInfo.prevCursor) };
const search = await client.queryEntities({ fullTextFilter: { term: 'money' } }, options);
out.search = names(search.items);
const byName = await client.queryEntities({ fullTextFilter: { term: 'ledg', fields: ['metadata.name'] } }, options);
out.searchByName = names(byName.items);
const byPredicate = await client.queryEntities(
  { query: { $all: [{ kind: 'component' }, { $not: { 'spec.type': 'library' } }] },
    orderFields: { field: 'metadata.name', order: 'desc' }, limit: 1 },
  options,
);
const byPredicateNext = await client.queryEntities({ cursor: byPredicate.pageInfo.nextCursor, limit: 5 }, options);
out.byPredicate = { first: names(byPredicate.items), total: byPredicate.totalItems, rest: names(byPredicateNext.items) };
const streamedByPredicate = [];
for await (const batch of client.streamEntities({ query: { 'metadata.tags': { $in: ['java', 'python'] } }, pageSize: 1 }, options)) {
  streamedByPredicate.push(...names(batch));
}
out.streamedByPredicate = streamedByPredicate.sort();
out.facetsByPredicate = (await client.getEntityFacets({ facets: ['spec.type'], query: { kind: 'component' } }, options)).facets['spec.type'];
const legacyPage = await client.getEntities({ filter: { kind: 'component' }, order: { field: 'metadata.name', order: 'asc' }, limit: 2 }, options);
out.legacyPage = names(legacyPage.items);
out.byName = (await client.getEntityByName({ kind: 'Component', namespace: 'default', name: 'ledger' }, options))?.metadata?.name ?? null;
const entity = await client.getEntityByRef('component:default/checkout', options);
out.byRef = { name: entity.metadata.name, uid: entity.metadata.uid, etag: entity.metadata.etag,
  relations: entity.relations.map((r) => `${r.type} ${r.targetRef}`) };
out.missing = (await client.getEntityByRef('component:default/nope', options)) ?? null;
const ancestors = await client.getEntityAncestors({ entityRef: 'component:default/checkout' }, options);
out.ancestors = { root: ancestors.rootEntityRef, kinds: ancestors.items.map((i) => i.entity.kind),
  parents: ancestors.items.map((i) => i.parentEntityRefs) };
const supplier = await client.getLocationByEntity('component:default/checkout', options);
out.locationByEntity = { type: supplier?.type ?? null, sameTarget: supplier?.target === entity.metadata.annotations['backstage.io/managed-by-location'].slice(4) };
out.locationByMissing = (await client.getLocationByEntity('component:default/nope', options)) ?? null;
out.byRefs = names((await client.getEntitiesByRefs({ entityRefs: ['component:default/ledger', 'api:default/ghost'] }, options)).items);
out.legacy = names((await client.getEntities({ filter: { kind: 'group' }, fields: ['metadata.name'] }, options)).items).sort();
out.facets = (await client.getEntityFacets({ facets: ['kind'] }, options)).facets.kind;
const streamed = [];
for await (const batch of client.streamEntities({ filter: { kind: 'component' }, pageSize: 1 }, options)) {
  streamed.push(...names(batch));
}
out.streamed = streamed.sort();
const valid = await client.validateEntity(
  { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'x' }, spec: { type: 'service', owner: 'a', lifecycle: 'production' } },
  'url:https://example.com', options);
const invalid = await client.validateEntity(
  { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'x' }, spec: { type: 'service' } },
  'url:https://example.com', options);
out.validate = { valid: valid.valid, invalid: invalid.valid, message: invalid.errors?.[0]?.message ?? '' };
const analyzed = await client.analyzeLocation({ location: { type: 'url', target: process.env.GIT_URL } }, options);
out.analyzed = analyzed.existingEntityFiles.map((f) => ({ name: f.entity.metadata.name, isRegistered: f.isRegistered,
  type: f.location.type }));
const added = await client.addLocation({ type: 'url', target: process.env.GIT_URL }, options);
const analyzedAgain = await client.analyzeLocation({ location: { type: 'url', target: process.env.GIT_URL } }, options);
out.analyzedAgain = analyzedAgain.existingEntityFiles.map((f) => f.isRegistered);
out.added = { type: added.location.type, entities: names(added.entities) };
await client.refreshEntity('component:default/from-node', options);
out.refreshed = true;
const fromNode = await client.getEntityByRef('component:default/from-node', options);
await client.removeEntityByUid(fromNode.metadata.uid, options);
out.afterEntityRemove = (await client.getEntityByRef('component:default/from-node', options)) ?? null;
out.locations = (await client.getLocations({}, options)).items.map((l) => l.type);
const queried = await client.queryLocations({ query: { type: 'url' }, limit: 1 }, options);
out.queriedLocations = { count: queried.items.length, total: queried.totalItems };
const streamedLocations = [];
for await (const batch of client.streamLocations({ query: { target: process.env.GIT_URL } }, options)) {
  streamedLocations.push(...batch.map((l) => l.id));
}
out.streamedLocations = streamedLocations;
out.locationById = (await client.getLocationById(added.location.id, options))?.target === added.location.target;
out.locationByRef = (await client.getLocationByRef(`url:${added.location.target}`, options))?.id === added.location.id;
const updated = await client.updateLocation(added.location.id, { type: 'url', target: process.env.GIT_URL }, options);
out.updated = { sameId: updated.id === added.location.id, type: updated.type };
await client.removeLocationById(added.location.id, options);
out.afterRemove = (await client.getEntityByRef('component:default/from-node', options)) ?? null;
console.log(JSON.stringify(out));
