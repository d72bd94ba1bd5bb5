import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { MAX_INTEGER_COLUMN } from './integer-column';
import { ApiError, ErrorCode } from './api.error';

/** A path parameter naming a row by a positive `integer` column (a template version). */
@Injectable()
export class PositiveIntPipe implements PipeTransform<string, number> {
  transform(value: string, metadata: ArgumentMetadata): number {
    const n = /^[0-9]{1,10}$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= 1 && n <= MAX_INTEGER_COLUMN)) {
      throw new ApiError(ErrorCode.VALIDATION_FAILED, `${metadata.data ?? 'parameter'} must be a whole number from 1 to ${MAX_INTEGER_COLUMN}`);
    }
    return n;
  }
}
