import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AgentGatewayModule } from './agent-gateway/agent-gateway.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { FleetAdmissionModule } from './common/fleet-admission';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { DatabaseModule } from './database/database.module';
import { DeploymentsModule } from './deployments/deployments.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { NodesModule } from './nodes/nodes.module';
import { SandboxFilesModule } from './sandboxes/files/sandbox-files.module';
import { SandboxForkModule } from './sandboxes/fork/sandbox-fork.module';
import { SandboxLogsModule } from './sandboxes/logs/sandbox-logs.module';
import { SandboxesModule } from './sandboxes/sandboxes.module';
import { TemplatesModule } from './templates/templates.module';
import { TenantsModule } from './tenants/tenants.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            // Bearer tokens are credentials: never in a log line.
            redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], remove: true },
          },
        }),
        DatabaseModule,
        FleetAdmissionModule,
        MetricsModule,
        AuditModule,
        AuthModule,
        HealthModule,
        TenantsModule,
        NodesModule,
        SandboxesModule,
        SandboxFilesModule,
        SandboxLogsModule,
        SandboxForkModule,
        TemplatesModule,
        DeploymentsModule,
        DashboardModule,
        AgentGatewayModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: HttpExceptionFilter }],
    };
  }
}
