#include "ingest/formats.h"

#include "ingest/csv_source.h"
#include "ingest/kt3_source.h"
#include "ingest/oulad_source.h"
#include "ingest/pykt_source.h"
#include "ingest/records_csv_source.h"
#include "ingest/xapi_source.h"

namespace cartable::ingest {

StatusOr<models::InteractionLog> LoadData(const std::string& spec,
                                          const Pseudonymizer* pseudonymizer) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) {
    return InvalidArgumentError("data '" + spec + "' must be FORMAT:PATH, e.g. csv:answers.csv");
  }
  const std::string format = spec.substr(0, colon);
  const std::string path = spec.substr(colon + 1);
  if (format == "csv") return LoadLongCsv(path, pseudonymizer);
  if (format == "oulad") return LoadOuladLocation(path, pseudonymizer);
  if (format == "records") return LoadRecordsCsv(path, pseudonymizer);
  if (format == "kt3") return LoadKt3(path, pseudonymizer);
  if (format == "pykt") return LoadPykt(path, pseudonymizer);
  if (format == "xapi") return LoadXapi(path, pseudonymizer);
  return InvalidArgumentError("unknown data format '" + format + "' in '" + spec +
                              "' (known: csv, kt3, oulad, pykt, records, xapi)");
}

}  // namespace cartable::ingest
