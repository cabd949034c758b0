name = "ex-5-2"
expects = "the official and Arabic-normalised SQuAD scores of «رياض،» against «الرياض», and which to report"
# the solution displays the two scores without binding them: graded by the lecturer until it binds them
discussion = "which score to report, and why the paper's ARCD number uses the official script"
