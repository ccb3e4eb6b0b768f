import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TokenAuthService } from 'src/tenancy/token-auth.service';
import { AdminTokenEntity } from 'src/tenancy/entities/admin-token.entity';
import { ApiTokenEntity } from 'src/tenancy/entities/api-token.entity';

/** Token verification (and its cache), usable without HTTP: operator commands import this. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiTokenEntity, AdminTokenEntity])],
  providers: [TokenAuthService],
  exports: [TokenAuthService],
})
export class TenancyModule {}
