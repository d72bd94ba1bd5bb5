import { Injectable, NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MetricsService } from './metrics.service';

/** Express sets `route` once a route matched; its `path` is the pattern, e.g. `/v1/nodes/:id`. */
export interface RoutedRequest extends IncomingMessage {
  route?: { path?: string };
  baseUrl?: string;
}

/** The route pattern of a request (never the raw URL, which would explode label cardinality). */
export function routePattern(request: RoutedRequest): string | undefined {
  const path = request.route?.path;
  return path === undefined ? undefined : `${request.baseUrl ?? ''}${path}`;
}

/** Times every REST request into `moat_http_request_duration_seconds`. */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware<RoutedRequest, ServerResponse> {
  constructor(private readonly metrics: MetricsService) {}

  use(request: RoutedRequest, response: ServerResponse, next: () => void): void {
    const stop = this.metrics.httpDuration.startTimer();
    response.once('finish', () => {
      stop({ method: request.method ?? 'GET', route: routePattern(request) ?? 'unmatched', status: String(response.statusCode) });
    });
    next();
  }
}
