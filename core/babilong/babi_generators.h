// The bAbI qa1–qa5 story generators behind generate_story (babi.cpp). Internal to core/babilong.
#pragma once

#include <random>

#include "core/babilong/babi.h"

namespace dm::babilong::generators {

// One story of the task, with its questions, lines numbered as the released files number them.
Story qa1(std::mt19937_64& rng);  // single supporting fact (§3)
Story qa2(std::mt19937_64& rng);  // two supporting facts (§4)
Story qa3(std::mt19937_64& rng);  // three supporting facts (§5)
Story qa4(std::mt19937_64& rng);  // two-argument relations (§6)
Story qa5(std::mt19937_64& rng);  // three-argument relations (§7)

}  // namespace dm::babilong::generators
