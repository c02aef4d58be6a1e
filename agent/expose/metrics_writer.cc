#include "expose/metrics_writer.h"

#include <cassert>
#include <functional>

#include "expose/text_writer.h"

namespace pgconn {

namespace {

// Appends `name="value"` (the value made valid UTF-8 and escaped); returns
// whether the value had to be made UTF-8.
bool AppendLabel(const Label& label, std::string* out) {
  out->append(label.first);
  out->append("=\"");
  const bool sanitized = AppendLabelValue(label.second, out);
  out->push_back('"');
  return sanitized;
}

}  // namespace

LabelPrefix::LabelPrefix(
    std::initializer_list<std::pair<std::string, std::string>> l)
    : labels_(l) {
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (i > 0) rendered_.push_back(',');
    sanitized_ |= AppendLabel((*this)[i], &rendered_);
  }
}

Labels::Labels(std::initializer_list<Label> labels) {
  assert(labels.size() <= kMaxOwn);
  for (const Label& l : labels) {
    if (size_ == kMaxOwn) break;
    own_[size_++] = l;
  }
}

Label Labels::operator[](size_t i) const {
  const size_t n = prefix_ != nullptr ? prefix_->size() : 0;
  return i < n ? (*prefix_)[i] : own_[i - n];
}

Labels Labels::With(std::string_view name, std::string_view value) const {
  assert(size_ < kMaxOwn);
  Labels l = *this;
  if (l.size_ < kMaxOwn) l.own_[l.size_++] = {name, value};
  return l;
}

Labels WithLabel(const Labels& base, std::string_view name,
                 std::string_view value) {
  return base.With(name, value);
}

size_t MetricsWriter::SampleHash::operator()(uint32_t i) const {
  return std::hash<std::string_view>()(family->LabelsOf(i));
}

bool MetricsWriter::SampleEqual::operator()(uint32_t a, uint32_t b) const {
  return family->LabelsOf(a) == family->LabelsOf(b);
}

MetricsWriter::Family& MetricsWriter::FamilyFor(std::string_view name,
                                                std::string_view help,
                                                prometheus::MetricType type) {
  // Calls mostly come family after family: the last one first.
  if (last_ != nullptr && last_->name == name) return *last_;
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    Family& f = families_.emplace_back();
    f.name = std::string(name);
    f.help = std::string(help);
    f.type = type;
    it = by_name_.emplace(f.name, families_.size() - 1).first;
  }
  Family& f = families_[it->second];
  if (!f.written) {
    // A family of an earlier part: the first call of this one describes it.
    if (f.help != help || f.type != type) {
      f.help = std::string(help);
      f.type = type;
      f.head.reset();
    }
    f.written = true;
    order_.push_back(&f);
  }
  last_ = &f;
  return f;
}

void MetricsWriter::Add(std::string_view name, std::string_view help,
                        prometheus::MetricType type, const Labels& labels,
                        double value) {
  Family& f = FamilyFor(name, help, type);
  // Label values come from the server and its clients (database, role and
  // application names, on a SQL_ASCII cluster any bytes at all): made valid
  // UTF-8 here, the one place every sample passes, so that no name can break
  // the exposition.
  bool sanitized = false;
  if (!labels.empty()) {
    f.labels.push_back('{');
    char separator = 0;
    if (const LabelPrefix* p = labels.prefix(); p != nullptr && p->size()) {
      f.labels.append(p->rendered());
      sanitized = p->sanitized();
      separator = ',';
    }
    for (const Label* l = labels.own_begin(); l != labels.own_end(); ++l) {
      if (separator != 0) f.labels.push_back(separator);
      sanitized |= AppendLabel(*l, &f.labels);
      separator = ',';
    }
    f.labels.push_back('}');
  }
  f.samples.push_back({static_cast<uint32_t>(f.labels.size()), value});
  if (!sanitized && !f.index) return;
  // Two raw names that differ only in their invalid bytes become the same
  // series: folded into one, their values added, as capped labels fold into
  // "(other)". From the family's first changed name on, its samples are
  // indexed by their labels' text (equal text, equal labels).
  if (!f.index) {
    f.index = std::make_unique<SampleIndex>(0, SampleHash{&f}, SampleEqual{&f});
    for (uint32_t i = 0; i + 1 < f.samples.size(); ++i) f.index->insert(i);
  }
  const auto last = static_cast<uint32_t>(f.samples.size() - 1);
  auto [it, inserted] = f.index->insert(last);
  if (inserted) return;
  f.samples[*it].value += value;
  f.labels.resize(last == 0 ? 0 : f.samples[last - 1].end);
  f.samples.pop_back();
}

void MetricsWriter::Gauge(std::string_view name, std::string_view help,
                          const Labels& labels, double value) {
  Add(name, help, prometheus::MetricType::Gauge, labels, value);
}

void MetricsWriter::Counter(std::string_view name, std::string_view help,
                            const Labels& labels, double value) {
  Add(name, help, prometheus::MetricType::Counter, labels, value);
}

ExpositionPart MetricsWriter::TakePart() {
  ExpositionPart part;
  part.families.reserve(order_.size());
  text_.clear();
  std::string header;
  for (Family* f : order_) {
    if (f->head == nullptr) {
      header.clear();
      AppendFamilyHeader(f->name, f->help, f->type, &header);
      f->head = MakeHead(f->name, header);
    }
    ExpositionPart::Family& pf = part.families.emplace_back();
    pf.head = f->head;
    pf.begin = static_cast<uint32_t>(text_.size());
    uint32_t start = 0;
    for (const Sample& s : f->samples) {
      text_.append(f->name);
      text_.append(f->labels, start, s.end - start);
      text_.push_back(' ');
      AppendSampleValue(s.value, &text_);
      text_.push_back('\n');
      start = s.end;
    }
    pf.end = static_cast<uint32_t>(text_.size());
    part.bytes += pf.header().size() + (pf.end - pf.begin);
  }
  // Sized exactly: the part is kept until the target's next poll, by
  // every target.
  part.text = std::string(text_);
  Clear();
  return part;
}

void MetricsWriter::Clear() {
  // Buffers a rare huge part grew are not kept for the next ones.
  constexpr size_t kKeep = 1 << 20;
  for (Family* f : order_) {
    f->written = false;
    f->index.reset();
    f->samples.clear();
    f->labels.clear();
    if (f->labels.capacity() > kKeep) std::string().swap(f->labels);
    if (f->samples.capacity() > kKeep / sizeof(Sample)) {
      std::vector<Sample>().swap(f->samples);
    }
  }
  if (text_.capacity() > kKeep) std::string().swap(text_);
  order_.clear();
  last_ = nullptr;
}

namespace {

// The labels of a sample from their text: "{a=\"x\",b=\"y\"}" or empty.
std::vector<prometheus::ClientMetric::Label> ParseLabels(
    std::string_view text) {
  std::vector<prometheus::ClientMetric::Label> out;
  if (text.size() < 2) return out;
  text = text.substr(1, text.size() - 2);
  size_t i = 0;
  while (i < text.size()) {
    prometheus::ClientMetric::Label l;
    const size_t eq = text.find('=', i);
    l.name = std::string(text.substr(i, eq - i));
    i = eq + 2;  // past ="
    while (text[i] != '"') {
      if (text[i] == '\\') {
        ++i;
        l.value.push_back(text[i] == 'n' ? '\n' : text[i]);
      } else {
        l.value.push_back(text[i]);
      }
      ++i;
    }
    i += 2;  // past the quote and the comma
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace

std::vector<prometheus::MetricFamily> MetricsWriter::Take() {
  std::vector<prometheus::MetricFamily> out;
  for (const Family* f : order_) {
    prometheus::MetricFamily& mf = out.emplace_back();
    mf.name = f->name;
    mf.help = f->help;
    mf.type = f->type;
    for (uint32_t i = 0; i < f->samples.size(); ++i) {
      prometheus::ClientMetric& m = mf.metric.emplace_back();
      m.label = ParseLabels(f->LabelsOf(i));
      if (f->type == prometheus::MetricType::Counter) {
        m.counter.value = f->samples[i].value;
      } else {
        m.gauge.value = f->samples[i].value;
      }
    }
  }
  Clear();
  return out;
}

}  // namespace pgconn
