import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { ClubRow, SeasonRow, BrandRow, CompetitionRow, KitRow, PublicUserRow, CollectionItemRow } from '../../db/schema.js';
import type { Connection, Edge } from '../connection.js';
import type { Context } from '../../context.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Omit<T, K extends keyof T> = Pick<T, Exclude<keyof T, K>>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An instant in time, as an ISO-8601 string in UTC. */
  DateTime: { input: Date; output: Date | string; }
};

export type AddToCollectionInput = {
  condition: KitCondition;
  kitId: Scalars['ID']['input'];
  note?: InputMaybe<Scalars['String']['input']>;
};

export type Brand = {
  __typename?: 'Brand';
  id: Scalars['ID']['output'];
  kits: KitConnection;
  name: Scalars['String']['output'];
};


export type BrandKitsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type CacheControlScope =
  | 'PRIVATE'
  | 'PUBLIC';

export type CacheLevelStats = {
  __typename?: 'CacheLevelStats';
  /** redis, memory or off. */
  backend: Scalars['String']['output'];
  bytes?: Maybe<Scalars['Float']['output']>;
  enabled: Scalars['Boolean']['output'];
  /** Live entries; null where the backend cannot count them without scanning. */
  entries?: Maybe<Scalars['Int']['output']>;
  hitRate?: Maybe<Scalars['Float']['output']>;
  /** Counters since this server started. */
  hits: Scalars['Float']['output'];
  /** "response" or "entity". */
  id: Scalars['ID']['output'];
  invalidations: Scalars['Float']['output'];
  misses: Scalars['Float']['output'];
  refusedWrites: Scalars['Float']['output'];
  writes: Scalars['Float']['output'];
};

export type CacheStats = {
  __typename?: 'CacheStats';
  entityCache: CacheLevelStats;
  /** Always "cache-stats": there is one. */
  id: Scalars['ID']['output'];
  redis: RedisStats;
  responseCache: CacheLevelStats;
};

export type Club = {
  __typename?: 'Club';
  country: Scalars['String']['output'];
  founded?: Maybe<Scalars['Int']['output']>;
  id: Scalars['ID']['output'];
  /** The club's kits in id order, optionally of one season. */
  kits: KitConnection;
  name: Scalars['String']['output'];
  /** Seasons the club has kits in, newest first. */
  seasons: Array<Season>;
  slug: Scalars['String']['output'];
};


export type ClubKitsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  seasonId?: InputMaybe<Scalars['ID']['input']>;
};

export type ClubConnection = {
  __typename?: 'ClubConnection';
  edges: Array<ClubEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type ClubEdge = {
  __typename?: 'ClubEdge';
  cursor: Scalars['String']['output'];
  node: Club;
};

export type CollectionItem = {
  __typename?: 'CollectionItem';
  addedAt: Scalars['DateTime']['output'];
  condition: KitCondition;
  id: Scalars['ID']['output'];
  kit: Kit;
  note?: Maybe<Scalars['String']['output']>;
};

export type CollectionItemConnection = {
  __typename?: 'CollectionItemConnection';
  edges: Array<CollectionItemEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type CollectionItemEdge = {
  __typename?: 'CollectionItemEdge';
  cursor: Scalars['String']['output'];
  node: CollectionItem;
};

export type Competition = {
  __typename?: 'Competition';
  country: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  kits: KitConnection;
  name: Scalars['String']['output'];
};


export type CompetitionKitsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type CreateBrandInput = {
  name: Scalars['String']['input'];
};

export type CreateClubInput = {
  country: Scalars['String']['input'];
  founded?: InputMaybe<Scalars['Int']['input']>;
  name: Scalars['String']['input'];
  /** Derived from the name when omitted. */
  slug?: InputMaybe<Scalars['String']['input']>;
};

export type CreateCompetitionInput = {
  country: Scalars['String']['input'];
  name: Scalars['String']['input'];
};

export type CreateKitInput = {
  brandId: Scalars['ID']['input'];
  clubId: Scalars['ID']['input'];
  competitionIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  description?: InputMaybe<Scalars['String']['input']>;
  name: Scalars['String']['input'];
  primaryColour: Scalars['String']['input'];
  seasonId: Scalars['ID']['input'];
  secondaryColours?: InputMaybe<Array<Scalars['String']['input']>>;
  type: KitType;
};

export type CreateSeasonInput = {
  /** Like 2023-24; startYear is read from it. */
  label: Scalars['String']['input'];
};

export type Kit = {
  __typename?: 'Kit';
  brand: Brand;
  club: Club;
  competitions: Array<Competition>;
  createdAt: Scalars['DateTime']['output'];
  description?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  primaryColour: Scalars['String']['output'];
  season: Season;
  secondaryColours: Array<Scalars['String']['output']>;
  type: KitType;
  updatedAt: Scalars['DateTime']['output'];
};

export type KitCondition =
  | 'EXCELLENT'
  | 'GOOD'
  | 'MINT'
  | 'WORN';

export type KitConnection = {
  __typename?: 'KitConnection';
  edges: Array<KitEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type KitEdge = {
  __typename?: 'KitEdge';
  cursor: Scalars['String']['output'];
  node: Kit;
};

export type KitType =
  | 'AWAY'
  | 'GOALKEEPER'
  | 'HOME'
  | 'SPECIAL'
  | 'THIRD';

export type LoginPayload = {
  __typename?: 'LoginPayload';
  /** Send it as `Authorization: Bearer <token>`; shown only once. */
  token: Scalars['String']['output'];
  user: User;
};

export type Mutation = {
  __typename?: 'Mutation';
  addToCollection: CollectionItem;
  createBrand: Brand;
  createClub: Club;
  createCompetition: Competition;
  createKit: Kit;
  createSeason: Season;
  deleteBrand: Scalars['ID']['output'];
  /** Refused while the club has kits. Returns the deleted id. */
  deleteClub: Scalars['ID']['output'];
  deleteCompetition: Scalars['ID']['output'];
  deleteKit: Scalars['ID']['output'];
  deleteSeason: Scalars['ID']['output'];
  /** Exchanges a username and password for a bearer token. */
  login: LoginPayload;
  /** Revokes the token this request was signed with. */
  logout: Scalars['Boolean']['output'];
  /** Empties both cache levels (ADMIN only). */
  purgeAllCaches: Scalars['Boolean']['output'];
  /** Drops one entity from both cache levels, and every cached response that shows it (ADMIN only). */
  purgeCache: Scalars['Boolean']['output'];
  removeFromCollection: Scalars['ID']['output'];
  updateBrand: Brand;
  updateClub: Club;
  updateCollectionItem: CollectionItem;
  updateCompetition: Competition;
  /** Changing clubId or seasonId moves the kit. */
  updateKit: Kit;
  updateSeason: Season;
};


export type MutationAddToCollectionArgs = {
  input: AddToCollectionInput;
};


export type MutationCreateBrandArgs = {
  input: CreateBrandInput;
};


export type MutationCreateClubArgs = {
  input: CreateClubInput;
};


export type MutationCreateCompetitionArgs = {
  input: CreateCompetitionInput;
};


export type MutationCreateKitArgs = {
  input: CreateKitInput;
};


export type MutationCreateSeasonArgs = {
  input: CreateSeasonInput;
};


export type MutationDeleteBrandArgs = {
  id: Scalars['ID']['input'];
};


export type MutationDeleteClubArgs = {
  id: Scalars['ID']['input'];
};


export type MutationDeleteCompetitionArgs = {
  id: Scalars['ID']['input'];
};


export type MutationDeleteKitArgs = {
  id: Scalars['ID']['input'];
};


export type MutationDeleteSeasonArgs = {
  id: Scalars['ID']['input'];
};


export type MutationLoginArgs = {
  password: Scalars['String']['input'];
  username: Scalars['String']['input'];
};


export type MutationPurgeCacheArgs = {
  id: Scalars['ID']['input'];
  typename: Scalars['String']['input'];
};


export type MutationRemoveFromCollectionArgs = {
  id: Scalars['ID']['input'];
};


export type MutationUpdateBrandArgs = {
  input: UpdateBrandInput;
};


export type MutationUpdateClubArgs = {
  input: UpdateClubInput;
};


export type MutationUpdateCollectionItemArgs = {
  input: UpdateCollectionItemInput;
};


export type MutationUpdateCompetitionArgs = {
  input: UpdateCompetitionInput;
};


export type MutationUpdateKitArgs = {
  input: UpdateKitInput;
};


export type MutationUpdateSeasonArgs = {
  input: UpdateSeasonInput;
};

/** Relay cursor pagination. `first` defaults to 20 and is capped at 100. */
export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
  hasPreviousPage: Scalars['Boolean']['output'];
  startCursor?: Maybe<Scalars['String']['output']>;
};

export type Query = {
  __typename?: 'Query';
  brand?: Maybe<Brand>;
  brands: Array<Brand>;
  /** Cache statistics per level (ADMIN only). Never cached. */
  cacheStats: CacheStats;
  /** A club by id; null when there is none. */
  club?: Maybe<Club>;
  /** Clubs by name. `search` matches any part of the name, case-insensitively. */
  clubs: ClubConnection;
  competition?: Maybe<Competition>;
  competitions: Array<Competition>;
  kit?: Maybe<Kit>;
  /** Kits in id order, filtered by any combination of the arguments. */
  kits: KitConnection;
  /** The signed-in user; null when anonymous. */
  me?: Maybe<User>;
  /** Clubs, kits, brands and competitions whose name contains `text` (case-insensitive); exact and prefix matches first. */
  search: Array<SearchResult>;
  season?: Maybe<Season>;
  /** All seasons, newest first; with `clubId`, the seasons that club has kits in. */
  seasons: Array<Season>;
};


export type QueryBrandArgs = {
  id: Scalars['ID']['input'];
};


export type QueryClubArgs = {
  id: Scalars['ID']['input'];
};


export type QueryClubsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  country?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  search?: InputMaybe<Scalars['String']['input']>;
};


export type QueryCompetitionArgs = {
  id: Scalars['ID']['input'];
};


export type QueryKitArgs = {
  id: Scalars['ID']['input'];
};


export type QueryKitsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  brandId?: InputMaybe<Scalars['ID']['input']>;
  clubId?: InputMaybe<Scalars['ID']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  seasonId?: InputMaybe<Scalars['ID']['input']>;
  type?: InputMaybe<KitType>;
};


export type QuerySearchArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
  text: Scalars['String']['input'];
};


export type QuerySeasonArgs = {
  id: Scalars['ID']['input'];
};


export type QuerySeasonsArgs = {
  clubId?: InputMaybe<Scalars['ID']['input']>;
};

export type RedisStats = {
  __typename?: 'RedisStats';
  configured: Scalars['Boolean']['output'];
  errors: Scalars['Float']['output'];
  id: Scalars['ID']['output'];
  reachable: Scalars['Boolean']['output'];
  usedMemoryBytes?: Maybe<Scalars['Float']['output']>;
};

export type Role =
  | 'ADMIN'
  | 'USER';

export type SearchResult = Brand | Club | Competition | Kit;

export type Season = {
  __typename?: 'Season';
  id: Scalars['ID']['output'];
  kits: KitConnection;
  /** Like 2023-24. */
  label: Scalars['String']['output'];
  startYear: Scalars['Int']['output'];
};


export type SeasonKitsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type UpdateBrandInput = {
  id: Scalars['ID']['input'];
  name?: InputMaybe<Scalars['String']['input']>;
};

export type UpdateClubInput = {
  country?: InputMaybe<Scalars['String']['input']>;
  founded?: InputMaybe<Scalars['Int']['input']>;
  id: Scalars['ID']['input'];
  name?: InputMaybe<Scalars['String']['input']>;
  slug?: InputMaybe<Scalars['String']['input']>;
};

export type UpdateCollectionItemInput = {
  condition?: InputMaybe<KitCondition>;
  id: Scalars['ID']['input'];
  note?: InputMaybe<Scalars['String']['input']>;
};

export type UpdateCompetitionInput = {
  country?: InputMaybe<Scalars['String']['input']>;
  id: Scalars['ID']['input'];
  name?: InputMaybe<Scalars['String']['input']>;
};

export type UpdateKitInput = {
  brandId?: InputMaybe<Scalars['ID']['input']>;
  clubId?: InputMaybe<Scalars['ID']['input']>;
  /** Replaces the kit's competitions when given. */
  competitionIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  description?: InputMaybe<Scalars['String']['input']>;
  id: Scalars['ID']['input'];
  name?: InputMaybe<Scalars['String']['input']>;
  primaryColour?: InputMaybe<Scalars['String']['input']>;
  seasonId?: InputMaybe<Scalars['ID']['input']>;
  secondaryColours?: InputMaybe<Array<Scalars['String']['input']>>;
  type?: InputMaybe<KitType>;
};

export type UpdateSeasonInput = {
  id: Scalars['ID']['input'];
  label: Scalars['String']['input'];
};

export type User = {
  __typename?: 'User';
  /** The user's own collection, most recently added first. */
  collection: CollectionItemConnection;
  id: Scalars['ID']['output'];
  role: Role;
  username: Scalars['String']['output'];
};


export type UserCollectionArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};



export type ResolverTypeWrapper<T> = Promise<T> | T;

export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;



/** Mapping of union types */
export type ResolversUnionTypes<_RefType extends Record<string, unknown>> = {
  SearchResult:
    | ( BrandRow & { __typename: 'Brand' } )
    | ( ClubRow & { __typename: 'Club' } )
    | ( CompetitionRow & { __typename: 'Competition' } )
    | ( KitRow & { __typename: 'Kit' } )
  ;
};


/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  AddToCollectionInput: AddToCollectionInput;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  Brand: ResolverTypeWrapper<BrandRow>;
  CacheControlScope: CacheControlScope;
  CacheLevelStats: ResolverTypeWrapper<CacheLevelStats>;
  CacheStats: ResolverTypeWrapper<CacheStats>;
  Club: ResolverTypeWrapper<ClubRow>;
  ClubConnection: ResolverTypeWrapper<Connection<ClubRow>>;
  ClubEdge: ResolverTypeWrapper<Edge<ClubRow>>;
  CollectionItem: ResolverTypeWrapper<CollectionItemRow>;
  CollectionItemConnection: ResolverTypeWrapper<Connection<CollectionItemRow>>;
  CollectionItemEdge: ResolverTypeWrapper<Edge<CollectionItemRow>>;
  Competition: ResolverTypeWrapper<CompetitionRow>;
  CreateBrandInput: CreateBrandInput;
  CreateClubInput: CreateClubInput;
  CreateCompetitionInput: CreateCompetitionInput;
  CreateKitInput: CreateKitInput;
  CreateSeasonInput: CreateSeasonInput;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  Kit: ResolverTypeWrapper<KitRow>;
  KitCondition: KitCondition;
  KitConnection: ResolverTypeWrapper<Connection<KitRow>>;
  KitEdge: ResolverTypeWrapper<Edge<KitRow>>;
  KitType: KitType;
  LoginPayload: ResolverTypeWrapper<Omit<LoginPayload, 'user'> & { user: ResolversTypes['User'] }>;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  RedisStats: ResolverTypeWrapper<RedisStats>;
  Role: Role;
  SearchResult: ResolverTypeWrapper<ResolversUnionTypes<ResolversTypes>['SearchResult']>;
  Season: ResolverTypeWrapper<SeasonRow>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  UpdateBrandInput: UpdateBrandInput;
  UpdateClubInput: UpdateClubInput;
  UpdateCollectionItemInput: UpdateCollectionItemInput;
  UpdateCompetitionInput: UpdateCompetitionInput;
  UpdateKitInput: UpdateKitInput;
  UpdateSeasonInput: UpdateSeasonInput;
  User: ResolverTypeWrapper<PublicUserRow>;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  AddToCollectionInput: AddToCollectionInput;
  Boolean: Scalars['Boolean']['output'];
  Brand: BrandRow;
  CacheLevelStats: CacheLevelStats;
  CacheStats: CacheStats;
  Club: ClubRow;
  ClubConnection: Connection<ClubRow>;
  ClubEdge: Edge<ClubRow>;
  CollectionItem: CollectionItemRow;
  CollectionItemConnection: Connection<CollectionItemRow>;
  CollectionItemEdge: Edge<CollectionItemRow>;
  Competition: CompetitionRow;
  CreateBrandInput: CreateBrandInput;
  CreateClubInput: CreateClubInput;
  CreateCompetitionInput: CreateCompetitionInput;
  CreateKitInput: CreateKitInput;
  CreateSeasonInput: CreateSeasonInput;
  DateTime: Scalars['DateTime']['output'];
  Float: Scalars['Float']['output'];
  ID: Scalars['ID']['output'];
  Int: Scalars['Int']['output'];
  Kit: KitRow;
  KitConnection: Connection<KitRow>;
  KitEdge: Edge<KitRow>;
  LoginPayload: Omit<LoginPayload, 'user'> & { user: ResolversParentTypes['User'] };
  Mutation: Record<PropertyKey, never>;
  PageInfo: PageInfo;
  Query: Record<PropertyKey, never>;
  RedisStats: RedisStats;
  SearchResult: ResolversUnionTypes<ResolversParentTypes>['SearchResult'];
  Season: SeasonRow;
  String: Scalars['String']['output'];
  UpdateBrandInput: UpdateBrandInput;
  UpdateClubInput: UpdateClubInput;
  UpdateCollectionItemInput: UpdateCollectionItemInput;
  UpdateCompetitionInput: UpdateCompetitionInput;
  UpdateKitInput: UpdateKitInput;
  UpdateSeasonInput: UpdateSeasonInput;
  User: PublicUserRow;
};

export type CacheControlDirectiveArgs = {
  maxAge?: Maybe<Scalars['Int']['input']>;
  scope?: Maybe<CacheControlScope>;
};

export type CacheControlDirectiveResolver<Result, Parent, ContextType = Context, Args = CacheControlDirectiveArgs> = DirectiveResolverFn<Result, Parent, ContextType, Args>;

export type BrandResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Brand'] = ResolversParentTypes['Brand']> = {
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kits?: Resolver<ResolversTypes['KitConnection'], ParentType, ContextType, RequireFields<BrandKitsArgs, 'first'>>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type CacheLevelStatsResolvers<ContextType = Context, ParentType extends ResolversParentTypes['CacheLevelStats'] = ResolversParentTypes['CacheLevelStats']> = {
  backend?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  bytes?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  enabled?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  entries?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  hitRate?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  hits?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  invalidations?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  misses?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  refusedWrites?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  writes?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
};

export type CacheStatsResolvers<ContextType = Context, ParentType extends ResolversParentTypes['CacheStats'] = ResolversParentTypes['CacheStats']> = {
  entityCache?: Resolver<ResolversTypes['CacheLevelStats'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  redis?: Resolver<ResolversTypes['RedisStats'], ParentType, ContextType>;
  responseCache?: Resolver<ResolversTypes['CacheLevelStats'], ParentType, ContextType>;
};

export type ClubResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Club'] = ResolversParentTypes['Club']> = {
  country?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  founded?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kits?: Resolver<ResolversTypes['KitConnection'], ParentType, ContextType, RequireFields<ClubKitsArgs, 'first'>>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  seasons?: Resolver<Array<ResolversTypes['Season']>, ParentType, ContextType>;
  slug?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type ClubConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ClubConnection'] = ResolversParentTypes['ClubConnection']> = {
  edges?: Resolver<Array<ResolversTypes['ClubEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type ClubEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ClubEdge'] = ResolversParentTypes['ClubEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Club'], ParentType, ContextType>;
};

export type CollectionItemResolvers<ContextType = Context, ParentType extends ResolversParentTypes['CollectionItem'] = ResolversParentTypes['CollectionItem']> = {
  addedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  condition?: Resolver<ResolversTypes['KitCondition'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kit?: Resolver<ResolversTypes['Kit'], ParentType, ContextType>;
  note?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type CollectionItemConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['CollectionItemConnection'] = ResolversParentTypes['CollectionItemConnection']> = {
  edges?: Resolver<Array<ResolversTypes['CollectionItemEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type CollectionItemEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['CollectionItemEdge'] = ResolversParentTypes['CollectionItemEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['CollectionItem'], ParentType, ContextType>;
};

export type CompetitionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Competition'] = ResolversParentTypes['Competition']> = {
  country?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kits?: Resolver<ResolversTypes['KitConnection'], ParentType, ContextType, RequireFields<CompetitionKitsArgs, 'first'>>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type KitResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Kit'] = ResolversParentTypes['Kit']> = {
  brand?: Resolver<ResolversTypes['Brand'], ParentType, ContextType>;
  club?: Resolver<ResolversTypes['Club'], ParentType, ContextType>;
  competitions?: Resolver<Array<ResolversTypes['Competition']>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  description?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  primaryColour?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  season?: Resolver<ResolversTypes['Season'], ParentType, ContextType>;
  secondaryColours?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  type?: Resolver<ResolversTypes['KitType'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type KitConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['KitConnection'] = ResolversParentTypes['KitConnection']> = {
  edges?: Resolver<Array<ResolversTypes['KitEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type KitEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['KitEdge'] = ResolversParentTypes['KitEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Kit'], ParentType, ContextType>;
};

export type LoginPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LoginPayload'] = ResolversParentTypes['LoginPayload']> = {
  token?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  user?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type MutationResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = {
  addToCollection?: Resolver<ResolversTypes['CollectionItem'], ParentType, ContextType, RequireFields<MutationAddToCollectionArgs, 'input'>>;
  createBrand?: Resolver<ResolversTypes['Brand'], ParentType, ContextType, RequireFields<MutationCreateBrandArgs, 'input'>>;
  createClub?: Resolver<ResolversTypes['Club'], ParentType, ContextType, RequireFields<MutationCreateClubArgs, 'input'>>;
  createCompetition?: Resolver<ResolversTypes['Competition'], ParentType, ContextType, RequireFields<MutationCreateCompetitionArgs, 'input'>>;
  createKit?: Resolver<ResolversTypes['Kit'], ParentType, ContextType, RequireFields<MutationCreateKitArgs, 'input'>>;
  createSeason?: Resolver<ResolversTypes['Season'], ParentType, ContextType, RequireFields<MutationCreateSeasonArgs, 'input'>>;
  deleteBrand?: Resolver<ResolversTypes['ID'], ParentType, ContextType, RequireFields<MutationDeleteBrandArgs, 'id'>>;
  deleteClub?: Resolver<ResolversTypes['ID'], ParentType, ContextType, RequireFields<MutationDeleteClubArgs, 'id'>>;
  deleteCompetition?: Resolver<ResolversTypes['ID'], ParentType, ContextType, RequireFields<MutationDeleteCompetitionArgs, 'id'>>;
  deleteKit?: Resolver<ResolversTypes['ID'], ParentType, ContextType, RequireFields<MutationDeleteKitArgs, 'id'>>;
  deleteSeason?: Resolver<ResolversTypes['ID'], ParentType, ContextType, RequireFields<MutationDeleteSeasonArgs, 'id'>>;
  login?: Resolver<ResolversTypes['LoginPayload'], ParentType, ContextType, RequireFields<MutationLoginArgs, 'password' | 'username'>>;
  logout?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  purgeAllCaches?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  purgeCache?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationPurgeCacheArgs, 'id' | 'typename'>>;
  removeFromCollection?: Resolver<ResolversTypes['ID'], ParentType, ContextType, RequireFields<MutationRemoveFromCollectionArgs, 'id'>>;
  updateBrand?: Resolver<ResolversTypes['Brand'], ParentType, ContextType, RequireFields<MutationUpdateBrandArgs, 'input'>>;
  updateClub?: Resolver<ResolversTypes['Club'], ParentType, ContextType, RequireFields<MutationUpdateClubArgs, 'input'>>;
  updateCollectionItem?: Resolver<ResolversTypes['CollectionItem'], ParentType, ContextType, RequireFields<MutationUpdateCollectionItemArgs, 'input'>>;
  updateCompetition?: Resolver<ResolversTypes['Competition'], ParentType, ContextType, RequireFields<MutationUpdateCompetitionArgs, 'input'>>;
  updateKit?: Resolver<ResolversTypes['Kit'], ParentType, ContextType, RequireFields<MutationUpdateKitArgs, 'input'>>;
  updateSeason?: Resolver<ResolversTypes['Season'], ParentType, ContextType, RequireFields<MutationUpdateSeasonArgs, 'input'>>;
};

export type PageInfoResolvers<ContextType = Context, ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo']> = {
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  hasPreviousPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  startCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type QueryResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  brand?: Resolver<Maybe<ResolversTypes['Brand']>, ParentType, ContextType, RequireFields<QueryBrandArgs, 'id'>>;
  brands?: Resolver<Array<ResolversTypes['Brand']>, ParentType, ContextType>;
  cacheStats?: Resolver<ResolversTypes['CacheStats'], ParentType, ContextType>;
  club?: Resolver<Maybe<ResolversTypes['Club']>, ParentType, ContextType, RequireFields<QueryClubArgs, 'id'>>;
  clubs?: Resolver<ResolversTypes['ClubConnection'], ParentType, ContextType, RequireFields<QueryClubsArgs, 'first'>>;
  competition?: Resolver<Maybe<ResolversTypes['Competition']>, ParentType, ContextType, RequireFields<QueryCompetitionArgs, 'id'>>;
  competitions?: Resolver<Array<ResolversTypes['Competition']>, ParentType, ContextType>;
  kit?: Resolver<Maybe<ResolversTypes['Kit']>, ParentType, ContextType, RequireFields<QueryKitArgs, 'id'>>;
  kits?: Resolver<ResolversTypes['KitConnection'], ParentType, ContextType, RequireFields<QueryKitsArgs, 'first'>>;
  me?: Resolver<Maybe<ResolversTypes['User']>, ParentType, ContextType>;
  search?: Resolver<Array<ResolversTypes['SearchResult']>, ParentType, ContextType, RequireFields<QuerySearchArgs, 'first' | 'text'>>;
  season?: Resolver<Maybe<ResolversTypes['Season']>, ParentType, ContextType, RequireFields<QuerySeasonArgs, 'id'>>;
  seasons?: Resolver<Array<ResolversTypes['Season']>, ParentType, ContextType, Partial<QuerySeasonsArgs>>;
};

export type RedisStatsResolvers<ContextType = Context, ParentType extends ResolversParentTypes['RedisStats'] = ResolversParentTypes['RedisStats']> = {
  configured?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  errors?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  reachable?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  usedMemoryBytes?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
};

export type SearchResultResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SearchResult'] = ResolversParentTypes['SearchResult']> = {
  __resolveType: TypeResolveFn<'Brand' | 'Club' | 'Competition' | 'Kit', ParentType, ContextType>;
};

export type SeasonResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Season'] = ResolversParentTypes['Season']> = {
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kits?: Resolver<ResolversTypes['KitConnection'], ParentType, ContextType, RequireFields<SeasonKitsArgs, 'first'>>;
  label?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  startYear?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type UserResolvers<ContextType = Context, ParentType extends ResolversParentTypes['User'] = ResolversParentTypes['User']> = {
  collection?: Resolver<ResolversTypes['CollectionItemConnection'], ParentType, ContextType, RequireFields<UserCollectionArgs, 'first'>>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  role?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
  username?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type Resolvers<ContextType = Context> = {
  Brand?: BrandResolvers<ContextType>;
  CacheLevelStats?: CacheLevelStatsResolvers<ContextType>;
  CacheStats?: CacheStatsResolvers<ContextType>;
  Club?: ClubResolvers<ContextType>;
  ClubConnection?: ClubConnectionResolvers<ContextType>;
  ClubEdge?: ClubEdgeResolvers<ContextType>;
  CollectionItem?: CollectionItemResolvers<ContextType>;
  CollectionItemConnection?: CollectionItemConnectionResolvers<ContextType>;
  CollectionItemEdge?: CollectionItemEdgeResolvers<ContextType>;
  Competition?: CompetitionResolvers<ContextType>;
  DateTime?: GraphQLScalarType;
  Kit?: KitResolvers<ContextType>;
  KitConnection?: KitConnectionResolvers<ContextType>;
  KitEdge?: KitEdgeResolvers<ContextType>;
  LoginPayload?: LoginPayloadResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  RedisStats?: RedisStatsResolvers<ContextType>;
  SearchResult?: SearchResultResolvers<ContextType>;
  Season?: SeasonResolvers<ContextType>;
  User?: UserResolvers<ContextType>;
};

export type DirectiveResolvers<ContextType = Context> = {
  cacheControl?: CacheControlDirectiveResolver<any, any, ContextType>;
};
