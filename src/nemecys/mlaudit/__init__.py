"""Privacy audit of trained models in connected medical devices.

A model trained on patient records can reveal whether a patient was in its training data
(membership inference) or a sensitive attribute of a patient (attribute inference). This
package measures both with published attacks (LOSS, LiRA, RMIA, model-based attribute
inference against an imputation baseline) and reports the results in terms a notified body
can check: true-positive rate at a low false-positive rate with exact confidence intervals,
thresholds fixed from reference models, the patient as the unit of privacy.

`membership_attack` in `attacks` is the programmatic entry point for the training-recipe
game; `audit.run_audit` runs the audit of one released model.
"""
