#pragma once

// LoadData: the one entry point for every data format cartable reads. A data spec is "FORMAT:PATH"
// (what `cartable train --data`, `cartable node --data` and `cartable data check` take); the format
// picks the adapter:
//   csv    long CSV answer log                                 ingest/csv_source.h
//   kt3    three-line sequences of the DKT and DKVMN papers    ingest/kt3_source.h
//   pykt   pyKT sequence files                                 ingest/pykt_source.h
//   xapi   xAPI statements, one JSON object per line           ingest/xapi_source.h
//   oulad  OULAD tables; PATH is DIR or DIR?cutoff=DAYS        ingest/oulad_source.h
//   records  pupil records, one per line: pupil_id,outcome,…    ingest/records_csv_source.h
// docs/data-formats.md describes each. Stateless; safe to call from several threads.

#include <string>

#include "core/status.h"
#include "ingest/pseudonymizer.h"
#include "models/dataset.h"

namespace cartable::ingest {

// "FORMAT:PATH" → the log. With a pseudonymizer, pupil ids become pseudonyms as they are read: the
// log never holds a raw id. A spec without a format, or with an unknown one, is an InvalidArgument
// that lists the known formats.
StatusOr<models::InteractionLog> LoadData(const std::string& spec,
                                          const Pseudonymizer* pseudonymizer = nullptr);

}  // namespace cartable::ingest
