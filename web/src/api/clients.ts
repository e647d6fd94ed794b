// gRPC-web clients of the services, through the gateway on the page's own origin.
// Every call carries the access token; an UNAUTHENTICATED answer (an expired token) refreshes
// the session once and retries the call.

import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { CatalogService } from "../gen/tunemesh/catalog/v1/catalog_service_pb";
import { PlayerService } from "../gen/tunemesh/player/v1/player_service_pb";
import { PlaylistService } from "../gen/tunemesh/playlist/v1/playlist_service_pb";
import { RecommendationService } from "../gen/tunemesh/reco/v1/recommendation_service_pb";
import { SearchService } from "../gen/tunemesh/search/v1/search_service_pb";
import { currentAccessToken, refresh } from "./session";

const withToken: Interceptor = (next) => async (request) => {
  const send = () => {
    const token = currentAccessToken();
    if (token) request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  try {
    return await send();
  } catch (error) {
    const expired = error instanceof ConnectError && error.code === Code.Unauthenticated;
    // Streams may have started already; only unary calls are replayed.
    if (!expired || request.stream || !(await refresh())) throw error;
    return send();
  }
};

const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  interceptors: [withToken],
  // Binary protobuf, like apps use: smaller than JSON for audio segments.
  useBinaryFormat: true,
});

/** `tunemesh.catalog.v1.CatalogService`. */
export const catalog: Client<typeof CatalogService> = createClient(CatalogService, transport);
/** `tunemesh.player.v1.PlayerService`. */
export const player: Client<typeof PlayerService> = createClient(PlayerService, transport);
/** `tunemesh.playlist.v1.PlaylistService`. */
export const playlists: Client<typeof PlaylistService> = createClient(PlaylistService, transport);
/** `tunemesh.search.v1.SearchService`. */
export const search: Client<typeof SearchService> = createClient(SearchService, transport);
/** `tunemesh.reco.v1.RecommendationService`. */
export const reco: Client<typeof RecommendationService> = createClient(RecommendationService, transport);

/** A short, human message for any error a call can throw. */
export function describeError(error: unknown): string {
  if (error instanceof ConnectError) return error.rawMessage || Code[error.code];
  if (error instanceof Error) return error.message;
  return String(error);
}
