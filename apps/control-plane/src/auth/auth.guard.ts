import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ErrorCode, ApiError } from '../common/api.error';
import { ADMIN_ONLY, AuthenticatedRequest, PUBLIC_ROUTE } from './auth.decorators';
import { AuthService } from './auth.service';
import { parseBearer } from './token';

/** Authenticates every HTTP route unless it is marked `@Public()`. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const principal = await this.auth.resolve(parseBearer(typeof header === 'string' ? header : undefined));
    if (!principal) throw new ApiError(ErrorCode.UNAUTHENTICATED, 'a valid bearer token is required');
    // Set before the admin check, so that the audit log names who was refused.
    request.principal = principal;
    if (principal.kind !== 'admin' && this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets)) {
      throw new ApiError(ErrorCode.FORBIDDEN, 'this operation needs the admin token');
    }
    return true;
  }
}
