/** FHIR R4 search over a node-local SQLite index: parameters, value extraction, the index, _include/_revinclude. */
export {
  COMMON_SEARCH_PARAMETERS,
  SEARCH_PARAMETERS,
  searchParameter,
  searchParametersOf,
  type SearchParameterDefinition,
  type SearchParameterKind,
} from './parameters.js';
export {
  extractValues,
  type DateRow,
  type IndexRow,
  type QuantityRow,
  type ReferenceRow,
  type StringRow,
  type TokenRow,
} from './extract.js';
export { dateRange, DATE_HIGH_MAX, DATE_LOW_MIN, type DateRange } from './date-range.js';
export { foldString, normaliseReference, type NormalisedReference } from './normalise.js';
export { SEARCH_COUNT_DEFAULT, searchPage, type SqlPart } from './query.js';
export { idsFilter, referencesFilter, searchLinkOf, type Chain, type HasClause } from './chain.js';
export {
  SearchIndex,
  SEARCH_INDEX_RETRY_AFTER_SECONDS,
  type IndexedMeta,
  type SearchIndexFault,
  type SearchIndexOptions,
  type SearchResult,
} from './search-index.js';
export { hasCurrentSchema, removeIndexFile } from './index-file.js';
export {
  includeReferences,
  includeTargets,
  parseInclude,
  searchRevinclude,
  type IncludeParameter,
} from './include.js';
